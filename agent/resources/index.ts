/**
 * Every resource type, in the order their changes are planned and shown (apply orders operations
 * by phase as well: packages and accounts before files, files before validation, handlers last).
 */
import type { ResourceType } from './types.js';
import { packageResource } from './package.js';
import { groupResource } from './group.js';
import { userResource } from './user.js';
import { directoryResource } from './directory.js';
import { fileResource } from './file.js';
import { templateResource } from './template.js';
import { symlinkResource } from './symlink.js';
import { fpmGlobalResource } from './fpm-global.js';
import { fpmPoolResource } from './fpm-pool.js';
import { systemdSliceResource } from './systemd-slice.js';
import { systemdServiceResource } from './systemd-service.js';
import { supervisorProgramResource } from './supervisor-program.js';
import { serviceResource } from './service.js';
import { releaseResource } from './release.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const resourceTypes: ResourceType<any>[] = [
  packageResource,
  groupResource,
  userResource,
  directoryResource,
  fileResource,
  templateResource,
  symlinkResource,
  fpmGlobalResource,
  fpmPoolResource,
  systemdSliceResource,
  systemdServiceResource,
  supervisorProgramResource,
  serviceResource,
  releaseResource,
];

export function resourceType(type: string): ResourceType<unknown> | undefined {
  return resourceTypes.find((t) => t.type === type);
}

export type * from './types.js';
