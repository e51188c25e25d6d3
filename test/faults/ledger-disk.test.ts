/**
 * Disk faults under a running pool: the ledger's filesystem fills up; then
 * a restart finds it read-only. A real server, a real miner over TCP finding real
 * shares, a real LevelDB ledger on a small tmpfs of its own.
 *
 * What must hold: the pool keeps serving (the connection stays up, other
 * requests are answered); no share is answered "accepted" unless it is in
 * the ledger (checked by reopening the ledger afterwards and counting);
 * every share it could not record is answered with an error asking for a
 * resubmit and counted (`counters.unrecorded`); the log says what is
 * wrong (the HF_LEDGER_WRITE message names the folder and the cause).
 *
 * chmod cannot make a folder read-only for root, and a full disk cannot be
 * faked by permissions at all, so this test mounts a 2 MiB tmpfs. Where
 * mounting is not allowed (not root, no CAP_SYS_ADMIN) it skips, saying so.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Ledger } from '../../src/ledger/index.js'
import { parseConfig } from '../../src/config/index.js'
import { createLogger } from '../../src/log.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { FixedDifficulty } from '../../src/server/difficulty-control.js'
import { StratumServer } from '../../src/server/stratum-server.js'
import { FixtureSource } from '../helpers/fixture-source.js'
import { FakeMiner, type Message } from '../helpers/fake-miner.js'
import { allShares } from '../helpers/ledger-fixtures.js'

function tryMount(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' })
    return undefined
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err).trim()
  }
}

const mnt = mkdtempSync(join(tmpdir(), 'hf-disk-'))
const refusal = process.getuid?.() === 0 ? tryMount(mnt) : 'not running as root'

if (refusal !== undefined) {
  rmdirSync(mnt)
  t.comment(`skipped: cannot mount a small tmpfs here (${refusal}); the disk-fault test needs root with CAP_SYS_ADMIN`)
  t.pass('skipped: no tmpfs mount allowed')
} else {
  t.teardown(() => {
    try {
      execFileSync('umount', [mnt])
    } catch {
      // already unmounted
    }
    rmdirSync(mnt)
  })

  t.test('disk full: shares are refused and counted, never "accepted" unrecorded; the pool keeps serving; read-only at start is refused', async (t) => {
    const path = join(mnt, 'ledger')
    mkdirSync(path)
    const logLines: string[] = []
    const logSink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString())
        done()
      },
    })
    const ledger = await Ledger.open({ path, sync: false, retentionDays: 90, groupCommitMs: 1, pruneIntervalMs: 0 })
    const config = parseConfig({ stratum: { host: '127.0.0.1' } }).stratum
    const server = new StratumServer({
      config: { ...config, port: 0 },
      hasher: selectHasher({}),
      log: createLogger({ level: 'error' }, logSink),
      difficulty: () => new FixedDifficulty(1e-6),
      shareSink: ledger,
      tickMs: 3_600_000,
    })
    const { port } = await server.listen()
    const source = new FixtureSource()
    server.attachSource(source)
    t.teardown(() => server.close())

    const miner = await FakeMiner.connect(port)
    t.teardown(() => miner.close())
    await miner.handshake('acct.rig1')
    const job = await miner.nextNotify()
    let en2 = 0
    const replies: Message[] = []
    const submitSome = async (n: number): Promise<Message[]> => {
      const out: Message[] = []
      for (let i = 0; i < n; i++) {
        const extranonce2 = Buffer.alloc(miner.extranonce2Size)
        extranonce2.writeUInt32BE(++en2, extranonce2.length - 4)
        out.push(await miner.submit('acct.rig1', job.jobId, miner.findShare(job, { extranonce2 })))
      }
      replies.push(...out)
      return out
    }
    const accepted = (ms: Message[]): number => ms.filter((m) => m.result === true).length

    // Healthy: every share accepted.
    t.equal(accepted(await submitSome(10)), 10, 'a healthy disk: 10 of 10 accepted')

    // Fill the filesystem to the last byte.
    const filler = openSync(join(mnt, 'filler'), 'w')
    const block = Buffer.alloc(64 * 1024, 1)
    try {
      for (;;) writeSync(filler, block)
    } catch (err) {
      t.equal((err as NodeJS.ErrnoException).code, 'ENOSPC', 'the tmpfs is full')
    }
    try {
      for (;;) writeSync(filler, block, 0, 1)
    } catch {
      // the last bytes too
    }
    closeSync(filler)

    // A few small writes may still land in the free end of the log's last
    // page (a share group is only its records since the tallies are folded
    // behind them): send enough to need a new page.
    const full = await submitSome(40)
    const refusedFull = full.filter((m) => m.result !== true)
    t.ok(refusedFull.length > 0, `disk full: ${refusedFull.length} of 40 shares refused`)
    for (const m of refusedFull) t.match(m.error, [20, /could not be recorded, resubmit/], 'refused with a resubmit error')
    t.same(await miner.request('mining.ping', []).then((m) => m.result), 'pong', 'the session is still served')
    t.notOk(miner.closed, 'the connection stays open')
    t.equal(server.counters.unrecorded, refusedFull.length, 'each unrecorded share is counted')
    const logged = logLines.join('')
    t.match(logged, /HF_LEDGER_WRITE/, 'the log names the error code')
    t.match(logged, new RegExp(`ledger ${path}: writing .* failed .*(ENOSPC|space)`, 'i'), 'and says the disk is full, naming the folder')

    // Space again (the operator cleaned up): still refused until a restart.
    // LevelDB's log may end in a torn record after the failed write, and
    // what it acknowledged after it would be dropped at the next open; the
    // ledger refuses every write after an I/O error (src/ledger/context.ts).
    rmSync(join(mnt, 'filler'))
    const freed = await submitSome(10)
    t.equal(accepted(freed), 0, 'after freeing space: refused until the ledger is reopened')
    t.match(freed[0]?.error, [20, /could not be recorded, resubmit/])
    t.match(logLines.join(''), /an earlier write failed .* restart Headframe/, 'the log says a restart is needed')
    t.notOk(miner.closed, 'the connection stays open')

    // The ledger holds exactly the shares answered "accepted": none missing, none extra.
    await ledger.close().catch(() => undefined)
    const reopened = await Ledger.open({ path, sync: false, retentionDays: 90, pruneIntervalMs: 0 })
    const stored = (await allShares(reopened)).length
    await reopened.close()
    const acceptedTotal = accepted(replies)
    t.equal(stored, acceptedTotal, `${acceptedTotal} shares answered "accepted", ${stored} in the ledger`)
    t.equal(server.counters.unrecorded, replies.length - acceptedTotal, `${replies.length - acceptedTotal} unrecorded shares counted`)

    // Read-only: Linux refuses to remount a filesystem read-only while a
    // file on it is open for writing (EBUSY), so a running ledger cannot be
    // caught by it; what can happen is a restart onto a read-only disk.
    execFileSync('mount', ['-o', 'remount,ro', mnt])
    const error = await Ledger.open({ path, sync: false, retentionDays: 90, pruneIntervalMs: 0 }).then(
      async (l) => {
        await l.close()
        return undefined
      },
      (err: unknown) => err as Error & { code?: string },
    )
    t.match(error, { code: 'HF_LEDGER_OPEN' }, 'a read-only ledger folder is refused at start')
    t.match(error?.message, path, 'naming the folder')
    t.comment(`read-only at start: ${error?.message ?? 'opened?'}`)
    execFileSync('mount', ['-o', 'remount,rw', mnt])
  })
}
