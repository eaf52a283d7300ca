"""Pictures, for training and evaluation alike: sample grids, 2D scatter plots, loss and score
curves, comparison panels (matplotlib's Agg backend, figures without pyplot's global state,
written atomically). One module: :mod:`gancore.plotting.figures`."""
