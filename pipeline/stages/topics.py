"""Topics stage: on / off-topic label and probability for every line.

The classifier (`pipeline.learn.topicmodel.TopicClassifier`, shipped as models/topic.joblib) reads
each line with its page around it; its learned threshold turns the probability into the label.
Boilerplate lines keep their probability but get no topic: they are not content.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.learn.topicmodel import TopicClassifier
from pipeline.schema import string_column, value_counts


def label_topics(lines: pd.DataFrame, model: TopicClassifier) -> pd.DataFrame:
    """Add `p_on` (Float32, every row) and `topic` (on / off; null for boilerplate) to `lines`.

    Parameters
    ----------
    lines : DataFrame, shape (n, k), with text and (for context) page, pos, role
    model : fitted TopicClassifier

    Returns
    -------
    `lines` with two more columns, same rows and order.
    """
    p_on = model.predict_proba(lines)[:, 1] if len(lines) else np.zeros(0)
    topic = np.where(p_on >= model.threshold_, "on", "off").astype(object)
    if "role" in lines:
        topic[(lines["role"] == "boilerplate").to_numpy(dtype=bool, na_value=False)] = None
    return lines.assign(p_on=pd.array(p_on, dtype="Float32"), topic=string_column(topic))


def topic_counts(lines: pd.DataFrame) -> dict[str, int]:
    """Lines per topic label, boilerplate (no label) left out: this stage's statistics."""
    return value_counts(lines["topic"])
