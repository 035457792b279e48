"""Topic stage: on / off-topic label and probability for every line.

`TopicClassifier` is a scikit-learn estimator (TF-IDF features into a logistic regression) with a
decision threshold; `label_topics` applies a fitted one to a lines frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """Binary on-topic classifier over line texts.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the logistic regression.
    threshold : float
        p_on at or above which a line is on-topic.
    """

    def __init__(self, C: float = 4.0, threshold: float = 0.5):
        self.C = C
        self.threshold = threshold

    def fit(self, X, y):
        """X: sequence of n texts; y: array-like (n,) of 0/1 (1 = on)."""
        self.pipeline_ = Pipeline(
            [
                ("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                ("clf", LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)),
            ]
        )
        self.pipeline_.fit(list(X), np.asarray(y))
        self.classes_ = self.pipeline_.classes_
        self.threshold_ = self.threshold
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Returns array (n, 2): probabilities of off and on."""
        return self.pipeline_.predict_proba(list(X))

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)


def label_topics(lines: pd.DataFrame, model: TopicClassifier) -> pd.DataFrame:
    """Add `p_on` (every row) and `topic` (on / off; null for boilerplate) to `lines`."""
    p_on = model.predict_proba(lines["text"].tolist())[:, 1] if len(lines) else np.zeros(0)
    topic = np.where(p_on >= model.threshold_, "on", "off").astype(object)
    topic[(lines["role"] == "boilerplate").to_numpy()] = None
    return lines.assign(p_on=pd.array(p_on, dtype="Float32"), topic=pd.array(topic, dtype="string"))
