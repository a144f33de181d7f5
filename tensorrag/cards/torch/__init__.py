"""Torch deep-learning cards (``pip install 'tensorrag[torch]'``).

``model_define_gpu`` + ``train_gpu`` train a multilayer perceptron (or a ``torch_module`` of
your own) for regression or classification; the ``training_*`` cards run one optimisation
step card by card on a training-state artifact, and ``training_loop`` repeats them.

Models travel as weights + description (safetensors + JSON, see :mod:`.artifact`), never as a
pickle, and expose scikit-learn's ``predict`` so ``evaluate`` and ``inference`` score them.
torch is imported inside the functions that need it: the card classes (and their schemas)
load without it.
"""
