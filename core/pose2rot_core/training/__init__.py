"""Training and fine-tuning the pose2rot network on a user's BVH clips (``pose2rot train``).

Modules: :mod:`.config` (model presets and the training recipe), :mod:`.data` (clips ->
normalised windows and padded batches), :mod:`.losses` (the published loss terms),
:mod:`.loop` (optimiser, schedule, checkpoints, progress, loss curves) and :mod:`.holdout`
(geometric vs learned vs hybrid on held-out clips). Needs torch (``core[learned]``);
importing this package does not import torch.
"""
