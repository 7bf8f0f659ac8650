"""The digits people drew on the Draw page and labelled: a database of them, and what they tell about the models.

Owns the feedback store (`FeedbackStore`: SQLAlchemy Core over SQLite by default, or any URL such as PostgreSQL
through psycopg), the checks on what is recorded, the fixed held-out part that is never trained on, and the
summaries the "Your drawings" page shows. Sits beside `pipelines.data` as a source of digits, so training and
evaluation may use it; it imports only `pipelines.config` and `pipelines.reading`.
"""

from pipelines.feedback.store import FeedbackError, FeedbackStore

__all__ = ["FeedbackError", "FeedbackStore"]
