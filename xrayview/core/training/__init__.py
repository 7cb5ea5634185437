"""Training: the corpus split and patches (``dataset``), the loop (``loop``) and
recording trained weights in the manifest (``register``)."""
