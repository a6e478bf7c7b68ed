-- Health of a wsgi-operator.io/v1alpha1 WsgiApp, read from the status the
-- wsgi-operator writes: status.observedGeneration and the conditions Ready,
-- Reconciled and Available, each with its own observedGeneration. Ready is
-- Reconciled (the children match the spec) and Available (the Deployment
-- runs the current pod template with the desired ready replicas); while a
-- change is refused, Ready is False with the refusal's reason. The contract:
-- wsgi-operator's operator/wsgi_operator/api/conditions.py, explained in its
-- docs/operator.md ("Status").
--
-- Written for Argo CD's default script sandbox: only the base, table and
-- package libraries and a restricted os; no string library.
local hs = {}

local function condition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil then
    return c.reason
  end
  return ""
end

-- Ready=False with one of these reasons will not resolve without a change
-- (to the spec, a referenced object or the cluster): the rollout is refused,
-- or its pods do not start (Argo CD's own Pod health calls a crash loop or an
-- image pull back-off Degraded too).
local failedReasons = {
  InvalidSpec = true,
  MissingReference = true,
  NameConflict = true,
  InvalidReference = true,
  ApplyFailed = true,
  ReleaseFailed = true,
  StartupFailed = true,
}

local status = obj.status
local ready = nil
if status ~= nil then
  ready = condition(status.conditions, "Ready")
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile the WsgiApp"
  return hs
end

-- A status written for an older spec says nothing about the current one.
local generation = obj.metadata.generation
if generation ~= nil then
  local observed = status.observedGeneration
  if ready.observedGeneration ~= nil and (observed == nil or ready.observedGeneration < observed) then
    observed = ready.observedGeneration
  end
  if observed == nil or observed < generation then
    hs.status = "Progressing"
    hs.message = "Waiting for the operator to observe generation " .. generation
    return hs
  end
end

if ready.status == "False" and failedReasons[ready.reason] then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
local available = condition(status.conditions, "Available")
if available ~= nil and available.reason == "ProgressDeadlineExceeded" then
  hs.status = "Degraded"
  hs.message = describe(available)
  return hs
end

if ready.status == "True" then
  -- replicas: 0 is allowed; without autoscaling that is a deliberate stop.
  if obj.spec ~= nil and obj.spec.replicas == 0 and obj.spec.autoscaling == nil then
    hs.status = "Suspended"
    hs.message = "Scaled to zero (spec.replicas is 0)"
    return hs
  end
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

-- RolloutPending, RollingOut, ReplicasNotReady, DeploymentMissing,
-- ReleasePending, ...: on its way.
hs.status = "Progressing"
hs.message = describe(ready)
return hs
