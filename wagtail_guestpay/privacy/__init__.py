"""Buyers' data: what the package holds about one e-mail address (:mod:`.records`), exported
(:mod:`.export`) or erased (:mod:`.erasure`) on request, and the raw notifications purged after
their retention period (:mod:`.retention`). docs/how-to/buyer-data.md tells the story."""
