/**
 * Found blocks, on disk before anything else happens to them.
 *
 * A block candidate is written (and fsynced) here before `submitblock` is
 * called, so a crash, a bitcoind outage or a restart never loses one: on
 * start the pool resubmits every block still marked `submitting`. Later
 * status changes (accepted, rejected, confirmations, confirmed, orphaned)
 * are appended as new lines; the last line for a hash wins. A torn last
 * line (power loss mid-write) is skipped on load, never fatal.
 *
 * JSON lines, one file: easy to read by hand in an emergency
 * (`jq . found-blocks.jsonl`), and the ledger can import it.
 */
import { open, readFile, mkdir, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'

export type FoundBlockStatus = 'submitting' | 'accepted' | 'rejected' | 'confirmed' | 'orphaned'

export interface FoundBlock {
  /** Block hash, display (big-endian) hex. */
  readonly hash: string
  readonly height: number
  /** The whole block, hex, as submitted. */
  readonly hex: string
  readonly account: string
  readonly worker: string
  /** ms since the epoch. */
  readonly foundAt: number
  readonly source: string
  /** Coinbase value in satoshis (decimal string: JSON has no bigint). */
  readonly reward: string
  readonly status: FoundBlockStatus
  /** bitcoind's answer: null = accepted, else its reason (`high-hash`, `duplicate`, ...). */
  readonly result?: string | null
  readonly confirmations?: number
  readonly updatedAt: number
}

export class FoundBlockStore {
  private readonly blocks = new Map<string, FoundBlock>()
  private file: FileHandle | undefined
  /** Lines skipped on load because they did not parse (a torn write). */
  skippedLines = 0

  private constructor(readonly path: string) {}

  /** Opens (creating) the store and loads what it holds. */
  static async open(path: string): Promise<FoundBlockStore> {
    const store = new FoundBlockStore(path)
    await mkdir(dirname(path), { recursive: true })
    let text = ''
    try {
      text = await readFile(path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      try {
        const block = JSON.parse(line) as FoundBlock
        if (typeof block.hash !== 'string') throw new Error('no hash')
        store.blocks.set(block.hash, { ...store.blocks.get(block.hash), ...block })
      } catch {
        store.skippedLines++
      }
    }
    store.file = await open(path, 'a')
    // End a torn last line, or the next record would be glued onto it.
    if (text.length > 0 && !text.endsWith('\n')) await store.file.write('\n')
    return store
  }

  /** Every block, newest first. */
  list(): FoundBlock[] {
    return [...this.blocks.values()].sort((a, b) => b.foundAt - a.foundAt)
  }

  get(hash: string): FoundBlock | undefined {
    return this.blocks.get(hash)
  }

  /** Blocks whose submission has not been answered yet. */
  pending(): FoundBlock[] {
    return this.list().filter((b) => b.status === 'submitting')
  }

  /** Records a new block durably (fsync) before it is submitted. */
  async add(block: Omit<FoundBlock, 'status' | 'updatedAt'>, now: number): Promise<FoundBlock> {
    const record: FoundBlock = { ...block, status: 'submitting', updatedAt: now }
    await this.append(record)
    this.blocks.set(record.hash, record)
    return record
  }

  /** Records a status change durably. Only the changed fields are written. */
  async update(hash: string, change: Partial<Pick<FoundBlock, 'status' | 'result' | 'confirmations'>>, now: number): Promise<FoundBlock> {
    const current = this.blocks.get(hash)
    if (current === undefined) throw new Error(`no found block ${hash}`)
    const next: FoundBlock = { ...current, ...change, updatedAt: now }
    await this.append({ hash, ...change, updatedAt: now })
    this.blocks.set(hash, next)
    return next
  }

  private async append(record: object): Promise<void> {
    if (this.file === undefined) throw new Error('found-block store is closed')
    await this.file.write(`${JSON.stringify(record)}\n`)
    await this.file.sync()
  }

  async close(): Promise<void> {
    await this.file?.close()
    this.file = undefined
  }
}
