"""The release step against the real control plane: a Job per version, run before the Deployment rolls.

kwok completes every pod it runs, so on this control plane a release Job
succeeds; failures are covered by the reconciler table (tests/unit) and,
with real containers, by the runtime tier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from operator_fixtures import Cluster

# The fixtures (cluster, operator, ...) live in operator_fixtures.
pytest_plugins = ["operator_fixtures"]

RELEASE = {"release": {"command": ["python", "manage.py", "migrate", "--noinput"]}}


def _jobs(cluster: Cluster) -> dict[str, dict[str, Any]]:
    return {j["metadata"]["name"]: j for j in cluster.items("jobs.batch", "wsgi-operator.io/app=web")}


def _completed_at(job: dict[str, Any]) -> str:
    (done,) = [c for c in job["status"]["conditions"] if c["type"] == "Complete" and c["status"] == "True"]
    return done["lastTransitionTime"]


def test_release_job_runs_before_the_deployment_and_once_per_version(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web", **RELEASE))
    app = cluster.wait_converged("web", timeout=120)
    (job,) = _jobs(cluster).values()
    release = app["status"]["release"]
    name = job["metadata"]["name"]
    assert release == {"job": name, "state": "Succeeded", "succeededJob": name, "message": "the release Job succeeded"}
    # The server's pods (and their ConfigMaps) came only after the release succeeded.
    dep = cluster.get("deployment", "web")
    assert dep["metadata"]["creationTimestamp"] >= _completed_at(job)
    # Release pods are fenced by their own policy and never behind the Service.
    pods = cluster.items("pods", f"batch.kubernetes.io/job-name={job['metadata']['name']}")
    assert pods and all("wsgi-operator.io/app" not in p["metadata"]["labels"] for p in pods)
    assert cluster.get("networkpolicy", "web-release")["spec"]["podSelector"] == {
        "matchLabels": {"wsgi-operator.io/release-of": "web"}
    }

    # A change outside the release (replicas) runs nothing again.
    cluster.patch("wsgiapp", "web", {"spec": {"replicas": 3}})
    cluster.wait_converged("web", timeout=120)
    assert list(_jobs(cluster)) == [job["metadata"]["name"]]

    # A new image is a new version: a new Job, then the rollout; the old Job is pruned.
    cluster.patch("wsgiapp", "web", {"spec": {"image": "registry.example.com/test/app:2"}})
    app = cluster.wait_converged("web", timeout=120)
    jobs = _jobs(cluster)
    new = app["status"]["release"]["succeededJob"]
    assert new != job["metadata"]["name"] and new in jobs
    cluster.wait_for("the old release Job to be pruned", lambda: job["metadata"]["name"] not in _jobs(cluster))
    image = cluster.get("deployment", "web")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "registry.example.com/test/app:2"
    assert cluster.get("deployment", "web")["metadata"]["generation"] >= 2


def test_removing_the_release_drops_its_job_policy_and_status(cluster: Cluster, operator) -> None:
    cluster.apply(cluster.app("web", **RELEASE))
    cluster.wait_converged("web", timeout=120)
    cluster.patch("wsgiapp", "web", {"spec": {"release": None}})
    app = cluster.wait_converged("web", timeout=120)
    assert "release" not in app["status"]
    cluster.wait_for("the release Job and policy to be pruned", lambda: not _jobs(cluster))
    assert cluster.get("networkpolicy", "web-release") is None
