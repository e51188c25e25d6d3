import t from 'tap'
import { JobBook, aliasId, stratumPrevHash } from '../../src/jobs/job-book.js'
import { ShareValidator, blockCandidate, type ShareContext, type Submission } from '../../src/shares/validator.js'
import { selectHasher } from '../../src/shares/hasher.js'
import { targetForDifficulty, targetFromBits, difficultyForTarget, hashDifficulty, DIFF1_TARGET, bigIntToLe, leToBigInt } from '../../src/shares/target.js'
import { REGTEST_CASES, regtestCase, regtestWork } from '../helpers/regtest.js'

const hasher = selectHasher({})

function context(over: Partial<ShareContext> & { extranonce1: Buffer }): ShareContext {
  return { extranonce2Size: 8, versionMask: 0, difficulty: 1e-12, difficultyForJob: () => undefined, ...over }
}

t.test('targets', async (t) => {
  t.equal(targetForDifficulty(1), DIFF1_TARGET)
  t.equal(targetForDifficulty(2), DIFF1_TARGET / 2n)
  t.equal(targetForDifficulty(0.5), DIFF1_TARGET * 2n)
  t.equal(targetForDifficulty(65536), DIFF1_TARGET >> 16n)
  t.equal(targetForDifficulty(1e-12), (1n << 256n) - 1n, 'clamped to the largest 256-bit target')
  t.equal(targetFromBits(0x1d00ffff), DIFF1_TARGET, 'genesis bits are difficulty 1')
  t.equal(targetFromBits(0x207fffff), 0x7fffffn << 232n, 'regtest bits')
  t.equal(difficultyForTarget(DIFF1_TARGET), 1)
  t.equal(difficultyForTarget(DIFF1_TARGET / 1000n), 1000)
  t.ok(Math.abs(difficultyForTarget(targetForDifficulty(0.001)) - 0.001) < 1e-12, 'fractional round trip')
  t.ok(Math.abs(difficultyForTarget(targetForDifficulty(123456789.5)) / 123456789.5 - 1) < 1e-12, 'huge round trip')
  t.equal(leToBigInt(bigIntToLe(DIFF1_TARGET)), DIFF1_TARGET)
  t.equal(hashDifficulty(bigIntToLe(DIFF1_TARGET)), 1)
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) t.throws(() => targetForDifficulty(bad), RangeError)
})

for (const name of REGTEST_CASES) {
  t.test(`${name}: the fixture's share rebuilds Bitcoin Core's accepted block header`, async (t) => {
    const c = regtestCase(name)
    const s = c.stratum
    const book = new JobBook()
    const job = book.add(regtestWork(c), 0)
    t.equal(job.notify.prevHash, s.stratum_prevhash, 'word-swapped prevhash as in mining.notify')
    t.equal(stratumPrevHash(job.work.prevHash), s.stratum_prevhash)
    t.equal(job.notify.version, s.version)
    t.equal(job.notify.nbits, s.nbits)
    t.equal(job.notify.ntime, s.ntime)
    const validator = new ShareValidator(hasher, book)
    const share: Submission = {
      jobId: job.id,
      extranonce2: Buffer.from(s.extranonce2, 'hex'),
      ntime: Number.parseInt(s.ntime, 16),
      nonce: Number.parseInt(s.nonce, 16),
    }
    const out = validator.check(share, context({ extranonce1: Buffer.from(s.extranonce1, 'hex') }), Number.parseInt(s.ntime, 16))
    if (!out.ok) return t.fail(`rejected: ${out.detail}`)
    t.equal(out.block?.header.toString('hex'), s.header)
    t.equal(Buffer.from(out.hash).reverse().toString('hex'), s.block_hash)
    t.ok(out.block, 'regtest target: a block')
    if (out.block === undefined) return t.fail('a block')
    const cand = blockCandidate(out.block, 'acct', 'rig1')
    t.equal(cand.coinbase.toString('hex'), s.coinb1 + s.extranonce1 + s.extranonce2 + s.coinb2)
    t.equal(cand.account, 'acct')
  })
}

t.test('reject reasons, in order', async (t) => {
  const c = regtestCase('segwit-txs')
  const s = c.stratum
  // A network target no share here can meet, so accepted shares are not blocks.
  const book = new JobBook(4)
  const job = book.add(regtestWork(c, { nbits: 0x1703a30c }), 0)
  const v = new ShareValidator(hasher, book)
  const en1 = Buffer.from(s.extranonce1, 'hex')
  const ntime = Number.parseInt(s.ntime, 16)
  const base: Submission = { jobId: job.id, extranonce2: Buffer.alloc(8), ntime, nonce: 0 }
  const ctx = context({ extranonce1: en1, versionMask: 0x1fffe000 })
  const reason = (share: Partial<Submission>, c2: ShareContext = ctx) => {
    const out = v.check({ ...base, ...share }, c2, ntime)
    return out.ok ? (out.block !== undefined ? 'block' : 'accepted') : out.reason
  }

  t.equal(reason({ jobId: 'zz' }), 'job-not-found')
  t.equal(reason({ jobId: 'ffff00' }), 'job-not-found')
  t.equal(reason({ jobId: '' }), 'job-not-found')
  t.equal(reason({ jobId: `0${job.id}` }), 'job-not-found', 'a non-canonical id is not the job')
  t.equal(reason({ extranonce2: Buffer.alloc(7) }), 'bad-extranonce2')
  t.equal(reason({ ntime: ntime - 1 }), 'bad-ntime')
  t.equal(reason({ ntime: ntime + 7201 }), 'bad-ntime')
  t.equal(reason({ versionBits: 0x00001000 }), 'bad-version-bits', 'bit 12 is outside 1fffe000')
  t.equal(reason({ versionBits: 0x2000 }, context({ extranonce1: en1 })), 'bad-version-bits', 'no mask granted')
  t.equal(reason({ nonce: 1 }, context({ extranonce1: en1, difficulty: 1e12 })), 'low-difficulty')
  t.equal(reason({ nonce: 2 }), 'accepted')
  t.equal(reason({ nonce: 2 }), 'duplicate')
  t.equal(reason({ nonce: 2, versionBits: 0x2000 }), 'accepted', 'rolled version bits make another share')
  t.equal(reason({ nonce: 2, ntime: ntime + 1 }), 'accepted')
  t.equal(reason({ nonce: 3, ntime: ntime + 7200 }), 'accepted', 'ntime 2 hours ahead is fine')
  t.equal(reason({ nonce: 1 }, context({ extranonce1: en1, difficulty: 1e12 })), 'low-difficulty', 'a low share is not remembered as accepted')

  // Same previous block: older jobs stay valid. New previous block: stale.
  const refresh = book.add(regtestWork(c, { nbits: 0x1703a30c, cleanJobs: false }), 1)
  t.equal(reason({ nonce: 10 }), 'accepted', 'older job, same block')
  t.equal(reason({ jobId: refresh.id, nonce: 10 }), 'accepted')
  // Clean work on the same previous block (an upstream's new extranonce, a
  // failover switch): older jobs are stale too.
  const clean = book.add(regtestWork(c, { nbits: 0x1703a30c, cleanJobs: true }), 1)
  t.equal(reason({ nonce: 13 }), 'stale', 'older job, clean work since')
  t.equal(reason({ jobId: refresh.id, nonce: 13 }), 'stale')
  t.equal(reason({ jobId: clean.id, nonce: 13 }), 'accepted', 'the clean job itself')
  book.add(regtestWork(c, { nbits: 0x1703a30c, prevHash: Buffer.alloc(32, 7) }), 2)
  t.equal(reason({ nonce: 11 }), 'stale')
  t.equal(reason({ jobId: refresh.id, nonce: 11 }), 'stale')
  for (let i = 0; i < 4; i++) book.add(regtestWork(c, { nbits: 0x1703a30c, prevHash: Buffer.alloc(32, 7) }), 3)
  t.equal(book.size, 4, 'the book keeps its capacity')
  t.equal(reason({ nonce: 12 }), 'job-not-found', 'forgotten')
})

t.test('difficulty in force when the job id was sent, or the current one if lower', async (t) => {
  const work = regtestWork(regtestCase('empty-mempool'), { nbits: 0x1703a30c })
  const en1 = Buffer.from('01020304', 'hex')
  const ntime = work.ntime
  const LOW = 1e-5
  const HIGH = 8e-5

  // Find shares whose hash meets LOW but not HIGH, with a probe book of its own.
  const probeBook = new JobBook()
  const probeJob = probeBook.add(work, 0)
  const probe = new ShareValidator(hasher, probeBook)
  const nonces: number[] = []
  for (let nonce = 0; nonces.length < 3 && nonce < 5_000_000; nonce++) {
    const out = probe.check({ jobId: probeJob.id, extranonce2: Buffer.alloc(8), ntime, nonce }, context({ extranonce1: en1, difficulty: LOW }), ntime)
    if (out.ok && hashDifficulty(out.hash) < HIGH) nonces.push(nonce)
  }
  t.equal(nonces.length, 3, 'found three shares between the two difficulties')

  const book = new JobBook()
  const job = book.add(work, 0)
  const alias = aliasId(job, 1)
  t.equal(book.lookup(alias)?.job, job)
  t.equal(book.lookup(alias)?.alias, 1)
  const v = new ShareValidator(hasher, book)
  const sent = new Map([
    [job.id, HIGH],
    [alias, LOW],
  ])
  const ctx = (difficulty: number): ShareContext => context({ extranonce1: en1, difficulty, difficultyForJob: (id) => sent.get(id) })
  const check = (jobId: string, nonce: number, current: number) => v.check({ jobId, extranonce2: Buffer.alloc(8), ntime, nonce }, ctx(current), ntime)

  const [a, b, c] = nonces as [number, number, number]
  const low = check(job.id, a, HIGH)
  t.equal(low.ok ? 'accepted' : low.reason, 'low-difficulty', 'judged at the difficulty its job id was sent with')
  const viaAlias = check(alias, a, HIGH)
  t.ok(viaAlias.ok, 'the alias was sent at the lower difficulty: accepted')
  t.equal(viaAlias.ok && viaAlias.difficulty, LOW, 'and credited at it')
  const lowered = check(job.id, b, LOW)
  t.ok(lowered.ok, 'current difficulty lowered below the job\'s: judged at the current one (Bitaxe applies it at once)')
  t.equal(lowered.ok && lowered.difficulty, LOW)
  const unknownId = check(job.id, c, HIGH)
  t.equal(unknownId.ok ? 'accepted' : unknownId.reason, 'low-difficulty')
  const dup = check(alias, a, HIGH)
  t.equal(dup.ok ? 'accepted' : dup.reason, 'duplicate', 'the same header under another id of the job is a duplicate')
})

t.test('a stale share that meets the network target is still handed over as a block', async (t) => {
  const c = regtestCase('empty-mempool')
  const book = new JobBook()
  const job = book.add(regtestWork(c), 0) // regtest bits: half of all hashes are blocks
  book.add(regtestWork(c, { prevHash: Buffer.alloc(32, 9) }), 1)
  t.equal(job.stale, true)
  const v = new ShareValidator(hasher, book)
  let blocks = 0
  let stale = 0
  for (let nonce = 0; nonce < 16; nonce++) {
    const out = v.check({ jobId: job.id, extranonce2: Buffer.alloc(8), ntime: job.work.ntime, nonce }, context({ extranonce1: Buffer.alloc(4) }), job.work.ntime)
    if (!out.ok && out.reason === 'stale') stale++
    if (!out.ok && out.block !== undefined) blocks++
  }
  t.equal(stale, 16, 'answered stale')
  t.ok(blocks > 0 && blocks < 16, `${blocks} of them still submitted as blocks`)
  t.equal(job.accepted.size, 0, 'a stale job keeps no duplicate keys')
})
