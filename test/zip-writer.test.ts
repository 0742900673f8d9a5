import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import JSZip from 'jszip';
import { buildZip } from '../src/activities/bulk-conversion/zip-writer';

// The writer's archives must open in any zip reader: checked with JSZip (CRCs verified) and
// by walking the raw structure the way a strict reader does (central directory → local
// headers → inflated data → CRC).

interface RawEntry {
  name: string;
  flags: number;
  method: number;
  crc: number;
  data: Buffer;
}

/** Reads an archive from its end record, cross-checking every central entry against its local header. */
function readZipStrictly(zip: Buffer): RawEntry[] {
  const end = zip.length - 22;
  expect(zip.readUInt32LE(end)).toBe(0x06054b50);
  const count = zip.readUInt16LE(end + 10);
  const centralSize = zip.readUInt32LE(end + 12);
  let p = zip.readUInt32LE(end + 16);
  expect(p + centralSize).toBe(end);
  const entries: RawEntry[] = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(p)).toBe(0x02014b50);
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    const localOffset = zip.readUInt32LE(p + 42);
    const nameBytes = zip.subarray(p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;

    const l = localOffset;
    expect(zip.readUInt32LE(l)).toBe(0x04034b50);
    expect(zip.readUInt16LE(l + 6)).toBe(flags);
    expect(zip.readUInt16LE(l + 8)).toBe(method);
    expect(zip.readUInt32LE(l + 14)).toBe(crc);
    expect(zip.readUInt32LE(l + 18)).toBe(compressed);
    expect(zip.readUInt32LE(l + 22)).toBe(size);
    expect(zip.subarray(l + 30, l + 30 + zip.readUInt16LE(l + 26))).toEqual(nameBytes);
    const start = l + 30 + zip.readUInt16LE(l + 26) + zip.readUInt16LE(l + 28);
    const body = zip.subarray(start, start + compressed);
    expect([0, 8]).toContain(method);
    const data = method === 8 ? zlib.inflateRawSync(body) : body;
    expect(data.length).toBe(size);
    expect(zlib.crc32(data) >>> 0).toBe(crc);
    entries.push({ name: nameBytes.toString(flags & (1 << 11) ? 'utf8' : 'latin1'), flags, method, crc, data });
  }
  return entries;
}

describe('zip writer', () => {
  const json = JSON.stringify({ title: 'Ünïcödé ✓', blocks: Array.from({ length: 200 }, (_, i) => `<p>Paragraph ${i}</p>`) });
  const entries = [
    { name: 'h5p.json', data: '{"title":"tiny"}' },
    { name: 'content/content.json', data: json },
    { name: 'content/übersicht – 日本語.txt', data: 'non-ASCII name' },
    { name: 'random.bin', data: randomBytes(4096) },
    { name: 'empty.txt', data: '' },
  ];
  const modified = new Date(2024, 4, 17, 13, 45, 30);
  const zip = buildZip(entries, { modified });

  test('opens in JSZip with every CRC checked, names and contents intact', async () => {
    const archive = await JSZip.loadAsync(zip, { checkCRC32: true });
    expect(Object.keys(archive.files).sort()).toEqual(entries.map((e) => e.name).sort());
    for (const e of entries) {
      const content = await archive.file(e.name)!.async('nodebuffer');
      expect(content).toEqual(Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data));
    }
    expect(archive.file('h5p.json')!.date.getTime()).toBe(modified.getTime());
  });

  test('passes a strict structural read: headers agree, data inflates, CRCs match', () => {
    const raw = readZipStrictly(zip);
    expect(raw.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    for (const [i, e] of raw.entries())
      expect(e.data).toEqual(Buffer.isBuffer(entries[i].data) ? entries[i].data : Buffer.from(entries[i].data));
  });

  test('marks non-ASCII names as UTF-8 (bit 11) and only those', () => {
    const flags = Object.fromEntries(readZipStrictly(zip).map((e) => [e.name, e.flags & (1 << 11)]));
    expect(flags['content/übersicht – 日本語.txt']).toBe(1 << 11);
    expect(flags['h5p.json']).toBe(0);
  });

  test('deflates compressible entries, stores tiny and incompressible ones', () => {
    const methods = Object.fromEntries(readZipStrictly(zip).map((e) => [e.name, e.method]));
    expect(methods['content/content.json']).toBe(8);
    expect(methods['h5p.json']).toBe(0);
    expect(methods['random.bin']).toBe(0);
  });
});
