"""The model registry (``registry``: the one door), the manifest (``manifest``,
``schema``) and weight loading (``weights``)."""
