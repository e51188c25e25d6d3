/**
 * A strict RFC 4180 reader for checking CSV output (csv-parse is not a
 * dependency): records end in CRLF, fields are separated by commas, a field
 * is either bare (no comma, quote, CR or LF) or quoted with inner quotes
 * doubled, and every record has as many fields as the header. Anything else
 * throws, so a test that parses the output also checks it is well-formed.
 */
export function parseRfc4180(text: string): string[][] {
  const records: string[][] = []
  let i = 0
  if (text === '') return records
  while (i < text.length) {
    const record: string[] = []
    for (;;) {
      let field = ''
      if (text[i] === '"') {
        i++
        for (;;) {
          if (i >= text.length) throw new Error('unterminated quoted field')
          const c = text[i] as string
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"'
              i += 2
              continue
            }
            i++
            break
          }
          field += c
          i++
        }
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') throw new Error(`a quote inside a bare field at ${i}`)
          field += text[i] as string
          i++
        }
      }
      record.push(field)
      if (text[i] === ',') {
        i++
        continue
      }
      if (text.startsWith('\r\n', i)) {
        i += 2
        break
      }
      throw new Error(`expected a comma or CRLF at ${i}, got ${JSON.stringify(text.slice(i, i + 10))}`)
    }
    records.push(record)
  }
  const width = records[0]?.length
  records.forEach((r, n) => {
    if (r.length !== width) throw new Error(`record ${n} has ${r.length} fields, the header ${String(width)}`)
  })
  return records
}

/** The records of a CSV text as objects keyed by the header row. */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseRfc4180(text)
  if (header === undefined) throw new Error('no header row')
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] as string])))
}
