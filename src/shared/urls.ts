// URL shapes the API serves; pure so workflows and activities can build links too.

/** Download URL of a file a job stored under `jobs/<jobId>/<path>`. */
export function jobFileUrl(publicUrl: string, jobId: string, filePath: string): string {
  return `${publicUrl}/api/v1/jobs/${encodeURIComponent(jobId)}/files/${filePath.split('/').map(encodeURIComponent).join('/')}`;
}

/** Blob key of a job's file. */
export function jobFileKey(jobId: string, filePath: string): string {
  return `jobs/${jobId}/${filePath}`;
}

export function jobStatusUrl(publicUrl: string, jobId: string): string {
  return `${publicUrl}/api/v1/jobs/${encodeURIComponent(jobId)}`;
}

export function temporalUiUrl(uiBase: string, namespace: string, workflowId: string): string {
  return `${uiBase.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
