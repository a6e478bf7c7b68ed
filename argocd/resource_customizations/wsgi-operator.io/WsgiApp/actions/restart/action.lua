-- Rolls the pods of a WsgiApp: the operator copies the WsgiApp's
-- wsgi-operator.io/restartedAt annotation into the Deployment's pod template,
-- as `kubectl rollout restart` does with kubectl.kubernetes.io/restartedAt
-- (the Deployment itself belongs to the operator, which would take a direct
-- edit back).
local os = require("os")
if obj.metadata.annotations == nil then
  obj.metadata.annotations = {}
end
obj.metadata.annotations["wsgi-operator.io/restartedAt"] = os.date("!%Y-%m-%dT%XZ")
return obj
