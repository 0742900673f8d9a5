import { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../shared/search-attributes';

/** Registers JobType/JobOwner/JobOutcome when the server lacks them (any self-hosted server). */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<'present' | 'added'> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = CUSTOM_SEARCH_ATTRIBUTES.filter((n) => !(n in (existing.customAttributes ?? {})));
  if (!missing.length) return 'present';
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  return 'added';
}
