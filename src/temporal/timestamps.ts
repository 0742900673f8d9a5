import { Timestamp, tsToDate, tsToMs } from '@temporalio/common/lib/time';

// Protobuf Timestamps and Durations from Temporal's service API, read one way everywhere.
// An unset one decodes as null or as zero seconds; both read as undefined.

type ProtoTime = Timestamp | null | undefined;

// `seconds` may be a Long: compare its text.
const isSet = (t: ProtoTime): t is Timestamp => Boolean(t && (String(t.seconds ?? 0) !== '0' || t.nanos));

/** A protobuf Timestamp as ISO 8601 (millisecond precision), or undefined when unset. */
export function isoTime(t: ProtoTime): string | undefined {
  return isSet(t) ? tsToDate(t).toISOString() : undefined;
}

/** A protobuf Duration in milliseconds, or undefined when unset. */
export function durationMs(d: ProtoTime): number | undefined {
  return isSet(d) ? tsToMs(d) : undefined;
}
