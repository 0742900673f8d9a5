import path from 'node:path';
import type { BuildSource } from '../../workflows/publishing-build/contract';

export type { BuildSource };

// Which build sources are allowed: https git URLs on the allowed hosts, and file:// git URLs
// or local paths under the configured source roots. Used by the API (400 naming the field) and
// again by the worker, whose configuration is the one that counts.

export interface SourcePolicy {
  allowHosts: string[];
  roots: string[];
}

export type CheckedSource = { kind: 'git'; url: string; ref?: string; localPath?: string } | { kind: 'path'; localPath: string };

export class SourceNotAllowed extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'SourceNotAllowed';
  }
}

const REF = /^(?!-)(?!.*\.\.)(?!.*\.lock$)[A-Za-z0-9._/-]{1,200}$/;

export function isUnder(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function underRoots(p: string, policy: SourcePolicy, field: string): string {
  if (!policy.roots.length) throw new SourceNotAllowed(field, 'local sources are disabled (BUILD_SOURCE_ROOTS is empty on this server)');
  const resolved = path.resolve(p);
  if (!path.isAbsolute(p)) throw new SourceNotAllowed(field, 'must be an absolute path');
  if (!policy.roots.some((r) => isUnder(r, resolved))) throw new SourceNotAllowed(field, `must be under one of the source roots: ${policy.roots.join(', ')}`);
  return resolved;
}

export function checkSource(source: BuildSource, policy: SourcePolicy): CheckedSource {
  if ('path' in source) return { kind: 'path', localPath: underRoots(source.path, policy, 'source.path') };
  if (source.ref !== undefined && !REF.test(source.ref)) throw new SourceNotAllowed('source.ref', 'must be a branch or tag name (letters, digits, ".", "_", "/", "-")');
  let url: URL;
  try {
    url = new URL(source.git);
  } catch {
    throw new SourceNotAllowed('source.git', 'must be an https:// or file:// URL');
  }
  if (url.protocol === 'https:') {
    if (url.username || url.password) throw new SourceNotAllowed('source.git', 'must not carry credentials (they would be stored in the job history)');
    const host = url.hostname.toLowerCase();
    if (!policy.allowHosts.includes(host)) throw new SourceNotAllowed('source.git', `host ${host} is not allowed; allowed: ${policy.allowHosts.join(', ') || 'none'} (BUILD_GIT_ALLOW_HOSTS)`);
    return { kind: 'git', url: url.href, ref: source.ref };
  }
  if (url.protocol === 'file:') {
    if (url.host) throw new SourceNotAllowed('source.git', 'file:// URLs must name a local path (file:///…)');
    const localPath = underRoots(decodeURIComponent(url.pathname), policy, 'source.git');
    return { kind: 'git', url: `file://${localPath}`, ref: source.ref, localPath };
  }
  throw new SourceNotAllowed('source.git', 'must be an https:// or file:// URL');
}
