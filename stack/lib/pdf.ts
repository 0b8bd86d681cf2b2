/**
 * Small, valid one-page PDFs for demo data and benchmarks: a line of text, optionally a long
 * comment of filler in the page's content stream (to reach a size) and a document information
 * dictionary (to have metadata to remove). The cross-reference table is exact.
 */

export interface PdfOptions {
  /** The line shown on the page (parentheses and backslashes are dropped). */
  text: string
  /** Filler written as a comment at the start of the content stream; no PDF syntax in it. */
  filler?: string
  /** Document information entries, e.g. { Author: 'Siti' }. */
  info?: Record<string, string>
}

export function simplePdf(options: PdfOptions): Buffer {
  const line = `BT /F1 18 Tf 72 720 Td (${options.text.replace(/[()\\]/g, '')}) Tj ET`
  const stream = options.filler ? `% ${options.filler.replace(/[\r\n]/g, ' ')}\n${line}` : line
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R '
      + '/Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ]
  if (options.info) {
    const entries = Object.entries(options.info)
      .map(([key, value]) => `/${key} (${value.replace(/[()\\]/g, '')})`)
    objects.push(`<< ${entries.join(' ')} >>`)
  }
  let body = '%PDF-1.4\n'
  const offsets: number[] = []
  objects.forEach((object, i) => {
    offsets.push(body.length)
    body += `${i + 1} 0 obj\n${object}\nendobj\n`
  })
  const xref = body.length
  const info = options.info ? ` /Info ${objects.length} 0 R` : ''
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
  body += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${info} >>\n`
  body += `startxref\n${xref}\n%%EOF\n`
  return Buffer.from(body, 'latin1')
}
