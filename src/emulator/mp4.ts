// A small but real MP4: an ISO BMFF file (ftyp, moov, mdat) holding one H.264 frame that
// lasts the whole clip. The frame is coded with I_PCM macroblocks (raw samples), which any
// H.264 decoder plays, so no encoder is needed to produce a video that opens in a player.

const MB = 16;

class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  bit(b: number): void {
    this.current = (this.current << 1) | (b & 1);
    if (++this.used === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  bits(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.bit((value >>> i) & 1);
  }

  /** Unsigned Exp-Golomb. */
  ue(value: number): void {
    const v = value + 1;
    const len = Math.floor(Math.log2(v));
    this.bits(0, len);
    this.bits(v, len + 1);
  }

  /** Signed Exp-Golomb. */
  se(value: number): void {
    this.ue(value <= 0 ? -2 * value : 2 * value - 1);
  }

  get aligned(): boolean {
    return this.used === 0;
  }

  alignZero(): void {
    while (this.used !== 0) this.bit(0);
  }

  byte(value: number): void {
    this.bits(value, 8);
  }

  /** rbsp_trailing_bits: a stop bit, then zeros to the byte boundary. */
  finish(): Buffer {
    this.bit(1);
    this.alignZero();
    return Buffer.from(this.bytes);
  }
}

/** NAL unit with emulation-prevention bytes inserted into its payload. */
function nal(header: number, rbsp: Buffer): Buffer {
  const out: number[] = [header];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

const PROFILE_BASELINE = 66;
const CONSTRAINTS = 0xc0; // constraint_set0 + constraint_set1: constrained baseline
const LEVEL = 30;

function sps(widthMbs: number, heightMbs: number): Buffer {
  const w = new BitWriter();
  w.byte(PROFILE_BASELINE);
  w.byte(CONSTRAINTS);
  w.byte(LEVEL);
  w.ue(0); // seq_parameter_set_id
  w.ue(0); // log2_max_frame_num_minus4
  w.ue(2); // pic_order_cnt_type 2: output order = decode order
  w.ue(1); // max_num_ref_frames
  w.bit(0); // gaps_in_frame_num_value_allowed_flag
  w.ue(widthMbs - 1);
  w.ue(heightMbs - 1);
  w.bit(1); // frame_mbs_only_flag
  w.bit(1); // direct_8x8_inference_flag
  w.bit(0); // frame_cropping_flag
  w.bit(0); // vui_parameters_present_flag
  return nal(0x67, w.finish());
}

function pps(): Buffer {
  const w = new BitWriter();
  w.ue(0); // pic_parameter_set_id
  w.ue(0); // seq_parameter_set_id
  w.bit(0); // entropy_coding_mode_flag: CAVLC
  w.bit(0); // bottom_field_pic_order_in_frame_present_flag
  w.ue(0); // num_slice_groups_minus1
  w.ue(0); // num_ref_idx_l0_default_active_minus1
  w.ue(0); // num_ref_idx_l1_default_active_minus1
  w.bit(0); // weighted_pred_flag
  w.bits(0, 2); // weighted_bipred_idc
  w.se(0); // pic_init_qp_minus26
  w.se(0); // pic_init_qs_minus26
  w.se(0); // chroma_qp_index_offset
  w.bit(0); // deblocking_filter_control_present_flag
  w.bit(0); // constrained_intra_pred_flag
  w.bit(0); // redundant_pic_cnt_present_flag
  return nal(0x68, w.finish());
}

/** One IDR picture of I_PCM macroblocks painting a diagonal gradient tinted by `hue` (0–255). */
function idrSlice(widthMbs: number, heightMbs: number, hue: number): Buffer {
  const w = new BitWriter();
  w.ue(0); // first_mb_in_slice
  w.ue(7); // slice_type: I (all slices)
  w.ue(0); // pic_parameter_set_id
  w.bits(0, 4); // frame_num (log2_max_frame_num = 4)
  w.ue(0); // idr_pic_id
  w.bit(0); // no_output_of_prior_pics_flag
  w.bit(0); // long_term_reference_flag
  w.se(0); // slice_qp_delta
  const width = widthMbs * MB;
  const height = heightMbs * MB;
  for (let mby = 0; mby < heightMbs; mby++) {
    for (let mbx = 0; mbx < widthMbs; mbx++) {
      w.ue(25); // mb_type I_PCM
      w.alignZero(); // pcm_alignment_zero_bit
      for (let y = 0; y < MB; y++) {
        for (let x = 0; x < MB; x++) {
          const px = mbx * MB + x;
          const py = mby * MB + y;
          w.byte(32 + Math.round((180 * (px + py)) / (width + height)));
        }
      }
      for (const base of [hue, 255 - hue]) {
        for (let y = 0; y < MB / 2; y++) {
          for (let x = 0; x < MB / 2; x++) w.byte(Math.max(16, Math.min(240, base + ((mbx + mby) % 2) * 8)));
        }
      }
    }
  }
  return nal(0x65, w.finish());
}

// --- ISO base media file format boxes ---

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff), 0);
  return box(type, vf, ...payload);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeUInt16BE(v & 0xffff, i * 2));
  return b;
}

const UNITY_MATRIX = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);
const TIMESCALE = 1000;

export interface Mp4Options {
  /** Clip length; the single frame is shown for all of it. */
  seconds: number;
  portrait?: boolean;
  /** Tints the frame so different generations look different. */
  hue?: number;
}

export function buildMp4(options: Mp4Options): Buffer {
  const widthMbs = options.portrait ? 4 : 6;
  const heightMbs = options.portrait ? 6 : 4;
  const width = widthMbs * MB;
  const height = heightMbs * MB;
  const duration = Math.max(1, Math.round(options.seconds * TIMESCALE));
  const spsNal = sps(widthMbs, heightMbs);
  const ppsNal = pps();
  const frame = idrSlice(widthMbs, heightMbs, Math.round(options.hue ?? 128) & 0xff);
  const sample = Buffer.concat([u32(frame.length), frame]);

  const ftyp = box('ftyp', Buffer.from('isom', 'latin1'), u32(0x200), Buffer.from('isomiso2avc1mp41', 'latin1'));

  const avcC = box(
    'avcC',
    Buffer.from([1, PROFILE_BASELINE, CONSTRAINTS, LEVEL, 0xff, 0xe1]),
    u16(spsNal.length),
    spsNal,
    Buffer.from([1]),
    u16(ppsNal.length),
    ppsNal,
  );
  const compressorName = Buffer.alloc(32);
  const avc1 = box(
    'avc1',
    Buffer.alloc(6), // reserved
    u16(1), // data_reference_index
    Buffer.alloc(16), // pre_defined + reserved
    u16(width, height),
    u32(0x00480000, 0x00480000, 0), // 72 dpi, reserved
    u16(1), // frame_count
    compressorName,
    u16(0x0018, 0xffff), // depth, pre_defined -1
    avcC,
  );

  const moovFor = (mdatOffset: number) =>
    box(
      'moov',
      fullBox(
        'mvhd',
        0,
        0,
        u32(0, 0, TIMESCALE, duration, 0x00010000),
        u16(0x0100),
        Buffer.alloc(10),
        UNITY_MATRIX,
        Buffer.alloc(24),
        u32(2),
      ),
      box(
        'trak',
        fullBox('tkhd', 0, 3, u32(0, 0, 1, 0, duration), Buffer.alloc(8), u16(0, 0, 0, 0), UNITY_MATRIX, u32(width << 16, height << 16)),
        box(
          'mdia',
          fullBox('mdhd', 0, 0, u32(0, 0, TIMESCALE, duration), u16(0x55c4, 0)),
          fullBox('hdlr', 0, 0, u32(0), Buffer.from('vide', 'latin1'), Buffer.alloc(12), Buffer.from('VideoHandler\0', 'latin1')),
          box(
            'minf',
            fullBox('vmhd', 0, 1, u16(0, 0, 0, 0)),
            box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1))),
            box(
              'stbl',
              fullBox('stsd', 0, 0, u32(1), avc1),
              fullBox('stts', 0, 0, u32(1, 1, duration)),
              fullBox('stsc', 0, 0, u32(1, 1, 1, 1)),
              fullBox('stsz', 0, 0, u32(0, 1, sample.length)),
              fullBox('stco', 0, 0, u32(1, mdatOffset)),
            ),
          ),
        ),
      ),
    );

  const moovLength = moovFor(0).length;
  const moov = moovFor(ftyp.length + moovLength + 8);
  return Buffer.concat([ftyp, moov, box('mdat', sample)]);
}

/** Top-level box types in order, e.g. ['ftyp', 'moov', 'mdat']; for checks in tests and clients. */
export function topLevelBoxes(file: Buffer): string[] {
  const types: string[] = [];
  let offset = 0;
  while (offset + 8 <= file.length) {
    const size = file.readUInt32BE(offset);
    types.push(file.toString('latin1', offset + 4, offset + 8));
    if (size < 8) break;
    offset += size;
  }
  return types;
}
