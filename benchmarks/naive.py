"""The naive baseline of the pipeline benchmark: pandas groupbys and scikit-learn, as a notebook does it.

Computes what the DAG's core stages compute (base RFM features as of the cut-off, a k-means model on the
standardized features, each customer's segment and distance, segment profiles) from the thelook tables held
in memory as pandas DataFrames; reading them from Parquet is not timed. Runs in its own process so its peak
RSS is its own:

    python -m benchmarks.naive DIR --cut-off 2024-06-30T00:00:00+00:00 --clusters 5

prints one JSON object: seconds per stage, customers, peak RSS in bytes.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.cluster import KMeans
from sklearn.metrics import davies_bouldin_score
from sklearn.preprocessing import StandardScaler

FEATURES = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_ratio"]


def customer_features(items: pd.DataFrame, products: pd.DataFrame, cut_off: pd.Timestamp) -> pd.DataFrame:
    lines = items[items["created_at"] < cut_off].merge(
        products[["id", "department", "category"]], left_on="product_id", right_on="id", how="left"
    )
    purchases = lines[lines["status"] != "Cancelled"].assign(
        is_returned=lambda d: (d["returned_at"] < cut_off).fillna(False)
    )
    purchases["kept_value"] = purchases["sale_price"].where(~purchases["is_returned"], 0.0)
    by_customer = purchases.groupby("user_id")
    features = pd.DataFrame(
        {
            "recency_days": (cut_off - by_customer["created_at"].max()).dt.days,
            "frequency": by_customer["order_id"].nunique(),
            "monetary": by_customer["kept_value"].sum(),
            "tenure_days": (cut_off - by_customer["created_at"].min()).dt.days,
            "return_ratio": by_customer["is_returned"].mean(),
        }
    )
    features["avg_order_value"] = features["monetary"] / features["frequency"]
    return features


def train(features: pd.DataFrame, clusters: int) -> tuple[StandardScaler, KMeans, float]:
    scaler = StandardScaler()
    matrix = scaler.fit_transform(features[FEATURES])
    kmeans = KMeans(n_clusters=clusters, random_state=42).fit(matrix)
    return scaler, kmeans, davies_bouldin_score(matrix, kmeans.labels_)


def predict(features: pd.DataFrame, scaler: StandardScaler, kmeans: KMeans) -> pd.DataFrame:
    distances = kmeans.transform(scaler.transform(features[FEATURES]))
    return pd.DataFrame(
        {
            "customer_id": features.index,
            "segment_id": distances.argmin(axis=1) + 1,
            "distance": distances.min(axis=1),
        }
    )


def profiles(segments: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    members = segments.merge(features, left_on="customer_id", right_index=True)
    by_segment = members.groupby("segment_id")
    profile = by_segment[FEATURES].mean()
    profile["customers"] = by_segment.size()
    profile["customer_share"] = profile["customers"] / profile["customers"].sum()
    revenue = by_segment["monetary"].sum()
    profile["revenue_share"] = revenue / revenue.sum()
    return profile


def peak_rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--cut-off", required=True)
    parser.add_argument("--clusters", type=int, default=5)
    args = parser.parse_args()
    items = pq.read_table(f"{args.directory}/order_items.parquet").to_pandas()
    products = pq.read_table(f"{args.directory}/products.parquet").to_pandas()
    cut_off = pd.Timestamp(args.cut_off)

    seconds = {}
    started = time.perf_counter()
    features = customer_features(items, products, cut_off)
    seconds["features"] = time.perf_counter() - started
    started = time.perf_counter()
    scaler, kmeans, _ = train(features, args.clusters)
    seconds["train"] = time.perf_counter() - started
    started = time.perf_counter()
    segments = predict(features, scaler, kmeans)
    seconds["predict"] = time.perf_counter() - started
    started = time.perf_counter()
    profiles(segments, features)
    seconds["profiles"] = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "customers": len(features),
                "iterations": int(kmeans.n_iter_),
                "segment_sizes": np.bincount(segments["segment_id"]).tolist()[1:],
                "peak_rss": peak_rss(),
            }
        )
    )


if __name__ == "__main__":
    main()
