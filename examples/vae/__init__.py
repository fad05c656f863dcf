"""A VAE family sharing one encoder/decoder, with three posteriors:

* ``nvae``: Gaussian posterior, standard Gaussian prior (Kingma & Welling 2014);
* ``svae``: von Mises-Fisher posterior (``hvae_ext.VonMisesFisher``) with the
  uniform prior on the sphere (``hvae_ext.HypersphericalUniform``)
  (Davidson et al. 2018, "Hyperspherical Variational Auto-Encoders");
* ``nvae_tsnf``: the Gaussian posterior followed by amortized triangular
  Sylvester flows (``hvae_ext.AmortizedTriangularSylvester``)
  (van den Berg et al. 2018, "Sylvester Normalizing Flows for Variational
  Inference").

Modules, one job each: ``data`` (digits or a user's .npz), ``models``,
``objectives`` (ELBO, importance-sampled log-likelihood), ``train`` (the
command line), ``evaluate`` (test-set metrics and the results table),
``figure`` (the latent-space picture), ``ddp`` (DistributedDataParallel).
"""
