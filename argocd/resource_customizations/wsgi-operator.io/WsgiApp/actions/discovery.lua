-- Actions of a wsgi-operator.io/v1alpha1 WsgiApp. Written for Argo CD's
-- default script sandbox (no string library).
local actions = {}
-- A WsgiApp being deleted takes its Deployment with it: nothing to restart.
actions["restart"] = {
  ["iconClass"] = "fa fa-fw fa-redo",
  ["disabled"] = obj.metadata.deletionTimestamp ~= nil,
}
return actions
