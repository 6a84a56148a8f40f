"""Custom Rasa NLU components, and a Rasa performance patch applied when they load.

Rasa imports this package whenever it loads a model that uses our components
(``rasa run``, ``rasa shell``, ``rasa test``), which makes it the one hook that
every server start passes through. See ``components/rasa_patches.py``.
"""

from components import rasa_patches

rasa_patches.apply()
