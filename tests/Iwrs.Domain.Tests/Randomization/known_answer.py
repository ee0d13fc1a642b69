#!/usr/bin/env python3
"""Independent implementation of iwrs-pbr-hmac-sha256-v1, written from the algorithm's description (the XML
doc comment on ListGenerator), not from the C# code. It produces the expected values of the known-answer test
in ListGeneratorTests. Run: python3 known_answer.py"""
import hashlib
import hmac
import itertools

ALGORITHM = "iwrs-pbr-hmac-sha256-v1"

# studies/lj-mcrc.json: arms LJ:PBO 1:1, blocks [4, 6], not by site, factors ecog 0/1 and liver-mets yes/no.
ARMS = [("LJ", 1), ("PBO", 1)]
BLOCK_SIZES = [4, 6]
FACTORS = [("ecog", ["0", "1"]), ("liver-mets", ["yes", "no"])]
SEED = bytes(range(32))  # 00 01 02 ... 1f
SLOTS_PER_STRATUM = 20


class Stream:
    def __init__(self, seed, stratum):
        self.seed, self.stratum, self.counter, self.buf = seed, stratum, 0, b""

    def u32(self):
        if not self.buf:
            msg = f"{ALGORITHM}|{self.stratum}|{self.counter}".encode("utf-8")
            self.buf = hmac.new(self.seed, msg, hashlib.sha256).digest()
            self.counter += 1
        x, self.buf = int.from_bytes(self.buf[:4], "big"), self.buf[4:]
        return x

    def uniform(self, n):
        limit = 2**32 - (2**32 % n)
        while True:
            x = self.u32()
            if x < limit:
                return x % n


def strata():
    return [";".join(f"{code}={level}" for code, level in zip([c for c, _ in FACTORS], combo))
            for combo in itertools.product(*[levels for _, levels in FACTORS])]


def generate():
    total = sum(r for _, r in ARMS)
    rows = []
    for key in strata():
        s, pos, block = Stream(SEED, key), 0, 0
        while pos < SLOTS_PER_STRATUM:
            block += 1
            size = BLOCK_SIZES[s.uniform(len(BLOCK_SIZES))]
            contents = [code for code, ratio in ARMS for _ in range(ratio * size // total)]
            for j in range(size - 1, 0, -1):
                k = s.uniform(j + 1)
                contents[j], contents[k] = contents[k], contents[j]
            for arm in contents:
                pos += 1
                rows.append((key, pos, block, size, arm))
    return rows


rows = generate()
text = "stratum,position,block,blockSize,arm\n" + "".join(f"{k},{p},{b},{z},{a}\n" for k, p, b, z, a in rows)
print("strata:", strata())
print("first 10 of ecog=1;liver-mets=no:", [a for k, _, _, _, a in rows if k == "ecog=1;liver-mets=no"][:10])
print("blocks of ecog=1;liver-mets=no:", sorted({(b, z) for k, _, b, z, _ in rows if k == "ecog=1;liver-mets=no"}))
print("slots:", len(rows))
print("commitment:", hashlib.sha256(text.encode("utf-8")).hexdigest())
