"""Training tasks behind the `backpropx` command: translate, classify, lm (and word2vec), and the loop.

    >>> from backpropx.tasks import TASKS, Trainer, load_task
"""
from .base import RunDirError, Task, load_task, read_config  # noqa: F401
from .trainer import Trainer  # noqa: F401
from .translate import TranslateTask
from .classify import ClassifyTask
from .lm import LMTask
from .word2vec import Word2VecTask

TASKS = {"translate": TranslateTask, "classify": ClassifyTask, "lm": LMTask, "word2vec": Word2VecTask}
