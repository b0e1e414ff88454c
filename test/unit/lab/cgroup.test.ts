import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cgroupLayout, hostCgroupDirs, parseProcCgroup } from '../../../agent/lab/cgroup.js';
import { parseMountinfo } from '../../../agent/lab/mountinfo.js';

const HYBRID_CGROUP = [
  '9:name=systemd:/',
  '8:pids:/',
  '4:memory:/process_api/77dab1ca',
  '2:cpu,cpuacct:/',
  '0::/',
].join('\n');

const HYBRID_MOUNTS = [
  '30 22 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd',
  '33 30 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
].join('\n');

describe('per-host cgroups', () => {
  it('parses /proc/self/cgroup, splitting co-mounted controllers', () => {
    const own = parseProcCgroup(HYBRID_CGROUP);
    assert.equal(own.get('name=systemd'), '/');
    assert.equal(own.get('memory'), '/process_api/77dab1ca');
    assert.equal(own.get('cpu'), '/');
    assert.equal(own.get('cpuacct'), '/');
    assert.equal(own.get(''), '/');
  });

  it('places a host in the systemd-named and unified hierarchies of a hybrid machine', () => {
    const layout = cgroupLayout(parseMountinfo(HYBRID_MOUNTS), parseProcCgroup(HYBRID_CGROUP));
    assert.equal(layout.legacy, true);
    assert.deepEqual(hostCgroupDirs(layout, 'lanes-lab1'), [
      '/sys/fs/cgroup/systemd/lanes-lab/lanes-lab1',
      '/sys/fs/cgroup/unified/lanes-lab/lanes-lab1',
    ]);
  });

  it('uses only the unified hierarchy on a pure cgroup v2 machine, below our own cgroup', () => {
    const layout = cgroupLayout(
      parseMountinfo('30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n'),
      parseProcCgroup('0::/user.slice/session-1.scope\n'),
    );
    assert.equal(layout.legacy, false);
    assert.deepEqual(hostCgroupDirs(layout, 'e2elab-lab1'), ['/sys/fs/cgroup/user.slice/session-1.scope/lanes-lab/e2elab-lab1']);
  });
});
