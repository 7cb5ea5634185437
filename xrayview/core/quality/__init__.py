"""Image quality: metrics (PSNR, SSIM, ICI, no-reference measures), the fast SSIM/ICI
of the dehazing loop, and simulated degradations."""
