// The API's method names, in a module with no dependencies: the sandboxed preload checks names
// against it, and api.ts gives each a schema (`satisfies` keeps the two lists equal).
export const METHOD_NAMES = [
  'app:snapshot',
  'stacks:plan',
  'stacks:sync',
  'stacks:suspend',
  'stacks:rollback',
  'stacks:worktree',
  'containers:logs',
  'containers:action',
  'logs:follow',
  'logs:stop',
  'history:runs',
  'history:run',
  'history:drifts',
  'history:commits',
  'builds:list',
  'builds:get',
  'builds:start',
  'sources:add',
  'sources:update',
  'sources:remove',
  'sources:fetch',
  'sources:prune',
  'sources:trust',
  'settings:get',
  'settings:update',
  'settings:webhook',
  'settings:webhook-test',
] as const;

export type Method = (typeof METHOD_NAMES)[number];
