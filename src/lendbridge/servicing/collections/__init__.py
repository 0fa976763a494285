"""Collections (催收): reminders, the collector queue, assignments, the contact log and
promises to pay. The close of business's collection and reminder steps live in
``servicing/cob/collection.py``, ``reminders.py`` and ``promises.py``."""
