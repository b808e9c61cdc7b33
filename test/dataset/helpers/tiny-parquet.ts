/**
 * Test helper: writes a minimal, valid Parquet file (one row group, one uncompressed PLAIN data page per
 * column, REQUIRED flat columns of UTF-8 strings or INT64). hyparquet-writer is not installed, and the
 * format subset needed for a fixture is small: Thrift compact-protocol metadata plus raw values.
 * Spec: github.com/apache/parquet-format (parquet.thrift).
 */

type Column = {name: string; type: 'string'; values: string[]} | {name: string; type: 'int64'; values: number[]}

class Compact {
  bytes: number[] = []
  private last: number[] = [0]

  varint(n: bigint): void {
    let v = n
    do {
      let b = Number(v & 0x7fn)
      v >>= 7n
      if (v > 0n) b |= 0x80
      this.bytes.push(b)
    } while (v > 0n)
  }
  zigzag(n: number | bigint): void {
    const v = BigInt(n)
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n)
  }
  field(id: number, type: number): void {
    const delta = id - this.last[this.last.length - 1]!
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type)
    else {
      this.bytes.push(type)
      this.zigzag(id)
    }
    this.last[this.last.length - 1] = id
  }
  i32(id: number, v: number): void {
    this.field(id, 5)
    this.zigzag(v)
  }
  i64(id: number, v: number): void {
    this.field(id, 6)
    this.zigzag(v)
  }
  binary(id: number, s: string): void {
    this.field(id, 8)
    this.rawBinary(s)
  }
  rawBinary(s: string): void {
    const b = Buffer.from(s, 'utf8')
    this.varint(BigInt(b.length))
    this.bytes.push(...b)
  }
  listHeader(id: number, elemType: number, size: number): void {
    this.field(id, 9)
    if (size < 15) this.bytes.push((size << 4) | elemType)
    else {
      this.bytes.push(0xf0 | elemType)
      this.varint(BigInt(size))
    }
  }
  beginStruct(id?: number): void {
    if (id !== undefined) this.field(id, 12)
    this.last.push(0)
  }
  endStruct(): void {
    this.bytes.push(0)
    this.last.pop()
  }
}

function plainValues(col: Column): Buffer {
  if (col.type === 'int64') {
    const b = Buffer.alloc(8 * col.values.length)
    col.values.forEach((v, i) => b.writeBigInt64LE(BigInt(v), i * 8))
    return b
  }
  return Buffer.concat(
    col.values.map((s) => {
      const data = Buffer.from(s, 'utf8')
      const len = Buffer.alloc(4)
      len.writeUInt32LE(data.length)
      return Buffer.concat([len, data])
    }),
  )
}

/** Returns the bytes of a Parquet file holding `columns` (all of the same length). */
export function tinyParquet(columns: Column[]): Buffer {
  const rows = columns[0]!.values.length
  const parts: Buffer[] = [Buffer.from('PAR1')]
  let offset = 4
  const chunks: {col: Column; offset: number; size: number}[] = []
  for (const col of columns) {
    const data = plainValues(col)
    const h = new Compact()
    h.beginStruct()
    h.i32(1, 0) // DATA_PAGE
    h.i32(2, data.length)
    h.i32(3, data.length)
    h.beginStruct(5) // DataPageHeader
    h.i32(1, rows)
    h.i32(2, 0) // PLAIN
    h.i32(3, 3) // RLE (no levels are written: REQUIRED, flat)
    h.i32(4, 3)
    h.endStruct()
    h.endStruct()
    const page = Buffer.concat([Buffer.from(h.bytes), data])
    chunks.push({col, offset, size: page.length})
    parts.push(page)
    offset += page.length
  }
  const m = new Compact()
  m.beginStruct()
  m.i32(1, 1) // version
  m.listHeader(2, 12, columns.length + 1) // schema
  m.beginStruct()
  m.binary(4, 'schema')
  m.i32(5, columns.length)
  m.endStruct()
  for (const col of columns) {
    m.beginStruct()
    m.i32(1, col.type === 'int64' ? 2 : 6) // INT64 | BYTE_ARRAY
    m.i32(3, 0) // REQUIRED
    m.binary(4, col.name)
    if (col.type === 'string') m.i32(6, 0) // converted_type UTF8
    m.endStruct()
  }
  m.i64(3, rows)
  m.listHeader(4, 12, 1) // row_groups
  m.beginStruct()
  m.listHeader(1, 12, chunks.length)
  for (const c of chunks) {
    m.beginStruct()
    m.i64(2, c.offset)
    m.beginStruct(3) // ColumnMetaData
    m.i32(1, c.col.type === 'int64' ? 2 : 6)
    m.listHeader(2, 5, 1)
    m.zigzag(0) // PLAIN
    m.listHeader(3, 8, 1)
    m.rawBinary(c.col.name)
    m.i32(4, 0) // UNCOMPRESSED
    m.i64(5, rows)
    m.i64(6, c.size)
    m.i64(7, c.size)
    m.i64(9, c.offset)
    m.endStruct()
    m.endStruct()
  }
  m.i64(2, chunks.reduce((a, c) => a + c.size, 0))
  m.i64(3, rows)
  m.endStruct()
  m.endStruct()
  const meta = Buffer.from(m.bytes)
  const len = Buffer.alloc(4)
  len.writeUInt32LE(meta.length)
  parts.push(meta, len, Buffer.from('PAR1'))
  return Buffer.concat(parts)
}
