import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mountsUnder, overlayOption, parseMountinfo, unescapeMountField } from '../../../agent/lab/mountinfo.js';

const MOUNTINFO = [
  '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '44 22 0:39 / /root/.local/state/lanes/lab/lanes/hosts/lab1/merged rw,relatime - overlay lanes-lab rw,lowerdir=/root/.cache/lanes/lab/images/bookworm-208a10cd937f,upperdir=/root/.local/state/lanes/lab/lanes/hosts/lab1/upper,workdir=/root/.local/state/lanes/lab/lanes/hosts/lab1/work',
  '45 22 0:40 / /root/.local/state/lanes/lab/lanes/hosts/lab2/merged rw,relatime shared:5 master:2 - overlay lanes-lab rw,lowerdir=/img,upperdir=/u2,workdir=/w2',
  '46 44 0:5 / /root/.local/state/lanes/lab/lanes/hosts/lab1/merged/proc rw - proc proc rw',
  '47 22 0:41 / /root/.local/state/lanes/lab/lanes-other/x rw - tmpfs tmpfs rw',
  '48 22 0:42 / /tmp/with\\040space rw - tmpfs tmpfs rw',
  '',
].join('\n');

describe('mountinfo', () => {
  it('parses fields, with or without optional fields', () => {
    const entries = parseMountinfo(MOUNTINFO);
    assert.equal(entries.length, 6);
    assert.deepEqual(
      { id: entries[1]!.id, parentId: entries[1]!.parentId, fsType: entries[1]!.fsType, source: entries[1]!.source },
      { id: 44, parentId: 22, fsType: 'overlay', source: 'lanes-lab' },
    );
    assert.equal(entries[2]!.fsType, 'overlay');
    assert.equal(entries[2]!.mountPoint, '/root/.local/state/lanes/lab/lanes/hosts/lab2/merged');
  });

  it('decodes octal escapes', () => {
    assert.equal(unescapeMountField('/tmp/with\\040space\\011tab\\134'), '/tmp/with space\ttab\\');
    assert.equal(parseMountinfo(MOUNTINFO)[5]!.mountPoint, '/tmp/with space');
  });

  it('lists the mounts under a directory, children first, without prefix look-alikes', () => {
    const under = mountsUnder(parseMountinfo(MOUNTINFO), '/root/.local/state/lanes/lab/lanes/');
    assert.deepEqual(
      under.map((m) => m.id),
      [46, 45, 44], // lab1/merged/proc before lab1/merged; equal depths: the later mount first
    );
    assert.deepEqual(mountsUnder(parseMountinfo(MOUNTINFO), '/root/.local/state/lanes/lab/lanes/hosts/lab2/merged').map((m) => m.id), [45]);
  });

  it('unmounts the later of two mounts on the same point first', () => {
    const text = '50 22 0:50 / /m rw - tmpfs a rw\n51 22 0:51 / /m rw - tmpfs b rw\n';
    assert.deepEqual(mountsUnder(parseMountinfo(text), '/m').map((m) => m.source), ['b', 'a']);
  });

  it('reads overlay options', () => {
    const e = parseMountinfo(MOUNTINFO)[1]!;
    assert.equal(overlayOption(e, 'lowerdir'), '/root/.cache/lanes/lab/images/bookworm-208a10cd937f');
    assert.equal(overlayOption(e, 'upperdir'), '/root/.local/state/lanes/lab/lanes/hosts/lab1/upper');
    assert.equal(overlayOption(e, 'nope'), undefined);
  });
});
