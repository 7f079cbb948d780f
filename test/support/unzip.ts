/**
 * Extracts a function zip as Lambda does before a cold start, without an `unzip` binary (CI machines may
 * lack one): the central directory is read (PKWARE APPNOTE 4.3.12/4.3.16), each entry stored or deflated,
 * its CRC-32 checked. Enough for the zips osls writes; no ZIP64, no encryption (refused by name).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;

type Entry = {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
};

const findEndOfDirectory = (zip: Buffer): number => {
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 65_557); at--)
    if (zip.readUInt32LE(at) === END_OF_DIRECTORY) return at;
  throw new Error('not a zip file (no end of central directory)');
};

const directoryEntries = (zip: Buffer): Entry[] => {
  const end = findEndOfDirectory(zip);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== DIRECTORY_ENTRY) throw new Error(`bad central directory entry ${i}`);
    const nameLength = zip.readUInt16LE(at + 28);
    entries.push({
      flags: zip.readUInt16LE(at + 8),
      method: zip.readUInt16LE(at + 10),
      crc: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      offset: zip.readUInt32LE(at + 42),
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
};

const contentOf = (zip: Buffer, entry: Entry): Buffer => {
  if (entry.flags & 1) throw new Error(`${entry.name}: encrypted entries are not supported`);
  if (zip.readUInt32LE(entry.offset) !== LOCAL_HEADER) throw new Error(`${entry.name}: bad local header`);
  const start = entry.offset + 30 + zip.readUInt16LE(entry.offset + 26) + zip.readUInt16LE(entry.offset + 28);
  // Sizes from the central directory: with a data descriptor (flag bit 3) the local header's are zero.
  const raw = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(raw);
  if (entry.method === 8) return inflateRawSync(raw);
  throw new Error(`${entry.name}: compression method ${entry.method} is not supported`);
};

/** Writes every file of `zip` under `dir`; returns the paths written (zip names). */
export const extractZip = (zip: Buffer, dir: string): string[] => {
  const written: string[] = [];
  for (const entry of directoryEntries(zip)) {
    const target = normalize(join(dir, entry.name));
    if (!target.startsWith(normalize(dir) + sep)) throw new Error(`${entry.name}: outside the target folder`);
    if (entry.name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    const content = contentOf(zip, entry);
    if (content.length !== entry.size || crc32(content) !== entry.crc)
      throw new Error(`${entry.name}: size or CRC-32 does not match the central directory`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    written.push(entry.name);
  }
  return written;
};
