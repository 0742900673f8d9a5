import { strFromU8, unzipSync } from 'fflate';

// What the stores check first about an uploaded binary: it is a zip, and it has the
// top-level layout of its kind. The emulator reads the version fields our builds write.

const MAX_ENTRY_READ = 256 * 1024;

export interface ZipCheck {
  ok: boolean;
  /** Why the binary was refused, in the store's words. */
  problem?: string;
  /** CFBundleVersion from Payload/*.app/Info.plist, or versionCode from the Android manifest. */
  buildNumber?: string;
  /** CFBundleShortVersionString or versionName. */
  version?: string;
}

function entries(bytes: Buffer, wanted: (name: string) => boolean): { names: string[]; files: Record<string, Uint8Array> } | undefined {
  const names: string[] = [];
  try {
    const files = unzipSync(bytes, {
      filter: (f) => {
        names.push(f.name);
        return wanted(f.name) && f.originalSize <= MAX_ENTRY_READ;
      },
    });
    return { names, files };
  } catch {
    return undefined;
  }
}

const plistString = (xml: string, key: string) => new RegExp(`<key>${key}</key>\\s*<string>([^<]*)</string>`).exec(xml)?.[1]?.trim();

/** An .ipa: a zip whose top level is Payload/<Name>.app/. */
export function checkIpa(bytes: Buffer): ZipCheck {
  const isInfoPlist = (n: string) => /^Payload\/[^/]+\.app\/Info\.plist$/.test(n);
  const zip = entries(bytes, isInfoPlist);
  if (!zip) return { ok: false, problem: 'The uploaded file is not a valid zip archive (.ipa).' };
  if (!zip.names.some((n) => /^Payload\/[^/]+\.app\//.test(n))) return { ok: false, problem: 'Invalid bundle. The .ipa has no Payload/<App>.app/ folder at its top level.' };
  const plistName = Object.keys(zip.files).find(isInfoPlist);
  if (!plistName) return { ok: true };
  const xml = strFromU8(zip.files[plistName]);
  return { ok: true, buildNumber: plistString(xml, 'CFBundleVersion'), version: plistString(xml, 'CFBundleShortVersionString') };
}

/** An .aab: a zip with base/manifest/AndroidManifest.xml. */
export function checkAab(bytes: Buffer): ZipCheck {
  const manifest = 'base/manifest/AndroidManifest.xml';
  const zip = entries(bytes, (n) => n === manifest);
  if (!zip) return { ok: false, problem: 'The uploaded file is not a valid Android App Bundle: it is not a zip archive.' };
  if (!zip.names.includes(manifest)) return { ok: false, problem: `The Android App Bundle is invalid: it has no ${manifest}.` };
  const text = zip.files[manifest] ? strFromU8(zip.files[manifest]) : '';
  return {
    ok: true,
    buildNumber: /versionCode="(\d+)"/.exec(text)?.[1],
    version: /versionName="([^"]*)"/.exec(text)?.[1],
  };
}
