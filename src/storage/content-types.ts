import path from 'node:path';

// Content types that follow from the file extension: the fs store then needs no metadata file
// (one write less per artifact), and S3 objects get the same type the fs store would report.
const TYPE_BY_EXTENSION: Record<string, string> = {
  '.h5p': 'application/zip',
  '.zip': 'application/zip',
  '.md': 'text/markdown; charset=utf-8',
  '.mp4': 'video/mp4',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
};

export function impliedContentType(key: string): string | undefined {
  return TYPE_BY_EXTENSION[path.extname(key)];
}

/** `Content-Disposition: attachment` with an ASCII fallback name and the exact name in RFC 5987 form. */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\w.-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
