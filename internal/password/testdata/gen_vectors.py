#!/usr/bin/python3
"""Regenerates legacy_vectors.json: imported password-hash test vectors made by
implementations independent of Gatehouse's Go code.

Tools (Debian 12 packages): python3-passlib 1.7.4 (with python3-bcrypt and
python3-argon2 backends), Python's hashlib (OpenSSL) and hmac, python3-cryptography
(AES-256-CTR for Firebase scrypt), mkpasswd from whois, openssl passwd, htpasswd from
apache2-utils.

    apt-get install python3-passlib python3-bcrypt python3-argon2 python3-cryptography \
        whois apache2-utils
    /usr/bin/python3 internal/password/testdata/gen_vectors.py > internal/password/testdata/legacy_vectors.json

Salts are random, so every run writes different (equally valid) vectors.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from passlib import hash as ph

PASSWORDS = ["correct horse battery staple", "pässwörd ✓ 秘密", "x" * 100]
vectors = []


def add(scheme, tool, password, encoded, **extra):
    v = {"scheme": scheme, "tool": tool, "password": password, "encoded": encoded}
    v.update(extra)
    vectors.append(v)


def b64(b):  # PHC B64: standard alphabet, no padding
    return base64.b64encode(b).decode().rstrip("=")


def run(*args, stdin=None):
    return subprocess.run(args, check=True, capture_output=True, text=True, input=stdin).stdout.strip()


passlib = "python3-passlib " + __import__("passlib").__version__
for pw in PASSWORDS:
    # bcrypt: passlib writes $2b$ by default; $2a$ and $2y$ by ident. Passwords over 72
    # bytes are refused by passlib's bcrypt backend, so truncate them as legacy systems do.
    bpw = pw.encode()[:72].decode("utf-8", "ignore")
    for ident in ("2a", "2b", "2y"):
        add("bcrypt", passlib, bpw, ph.bcrypt.using(ident=ident, rounds=5).hash(bpw))
    add("scrypt", passlib, pw, ph.scrypt.using(rounds=12, block_size=8, parallelism=1).hash(pw))
    add("scrypt", passlib, pw, ph.scrypt.using(rounds=10, block_size=4, parallelism=2).hash(pw))
    add("argon2id", passlib + " (argon2-cffi)", pw, ph.argon2.using(type="ID", memory_cost=1024, rounds=2, parallelism=1).hash(pw))
    add("argon2i", passlib + " (argon2-cffi)", pw, ph.argon2.using(type="I", memory_cost=512, rounds=3, parallelism=2).hash(pw))
    add("pbkdf2-sha1", passlib, pw, ph.pbkdf2_sha1.using(rounds=1000).hash(pw))
    add("pbkdf2-sha256", passlib, pw, ph.pbkdf2_sha256.using(rounds=1000).hash(pw))
    add("pbkdf2-sha512", passlib, pw, ph.pbkdf2_sha512.using(rounds=1000).hash(pw))
    add("django-pbkdf2-sha256", passlib, pw, ph.django_pbkdf2_sha256.using(rounds=1000).hash(pw))
    add("django-pbkdf2-sha1", passlib, pw, ph.django_pbkdf2_sha1.using(rounds=1000).hash(pw))
    add("sha256-crypt", passlib, pw, ph.sha256_crypt.using(rounds=5000).hash(pw))
    add("sha256-crypt", passlib, pw, ph.sha256_crypt.using(rounds=1000).hash(pw))
    add("sha512-crypt", passlib, pw, ph.sha512_crypt.using(rounds=5000).hash(pw))
    add("sha512-crypt", passlib, pw, ph.sha512_crypt.using(rounds=2000).hash(pw))
    add("md5-crypt", passlib, pw, ph.md5_crypt.hash(pw))
    add("apr1-md5-crypt", passlib, pw, ph.apr_md5_crypt.hash(pw))
    add("ldap-ssha", passlib, pw, ph.ldap_salted_sha1.hash(pw))
    add("ldap-ssha256", passlib, pw, ph.ldap_salted_sha256.hash(pw))
    add("ldap-ssha512", passlib, pw, ph.ldap_salted_sha512.hash(pw))

    # PBKDF2 in PHC form ($pbkdf2-<digest>$i=,l=$salt$hash): hashlib derives, the script encodes.
    for digest, l in (("sha1", 20), ("sha256", 32), ("sha512", 64), ("sha256", 40)):
        salt = os.urandom(16)
        dk = hashlib.pbkdf2_hmac(digest, pw.encode(), salt, 1500, l)
        add("pbkdf2-" + digest, "python3 hashlib.pbkdf2_hmac (OpenSSL)", pw,
            "$pbkdf2-%s$i=1500,l=%d$%s$%s" % (digest, l, b64(salt), b64(dk)))

    # Firebase's modified scrypt: scrypt(password, salt || separator, N=2^n, r, p, 64 bytes),
    # then AES-256-CTR with the first 32 derived bytes, zero IV, over the signer key.
    signer, sep, salt = os.urandom(64), b"\x07", os.urandom(12)
    dk = hashlib.scrypt(pw.encode(), salt=salt + sep, n=2**12, r=8, p=1, maxmem=2**26, dklen=64)
    enc = Cipher(algorithms.AES(dk[:32]), modes.CTR(b"\0" * 16)).encryptor()
    out = enc.update(signer) + enc.finalize()
    add("firebase-scrypt", "python3 hashlib.scrypt (OpenSSL) + python3-cryptography AES-256-CTR", pw,
        "$fbscrypt$v=1,n=12,r=8,p=1,ss=%s,sk=%s$%s$%s" % (b64(sep), b64(signer), b64(salt), b64(out)))

    # Auth0 custom_password_hash objects, derived with hashlib/hmac.
    def auth0(alg, obj):
        add("auth0-" + alg, "python3 hashlib/hmac", pw, "", auth0=obj)

    salt = os.urandom(8)
    for alg in ("md5", "sha1", "sha256", "sha512"):
        for pos in ("prefix", "suffix"):
            msg = salt + pw.encode() if pos == "prefix" else pw.encode() + salt
            h = hashlib.new(alg, msg).digest()
            auth0(alg, {"algorithm": alg, "hash": {"value": h.hex(), "encoding": "hex"},
                        "salt": {"value": salt.hex(), "encoding": "hex", "position": pos}})
        h = hashlib.new(alg, pw.encode()).digest()
        auth0(alg, {"algorithm": alg, "hash": {"value": base64.b64encode(h).decode(), "encoding": "base64"}})
    # password encodings: UTF-16LE and latin1 (Node's Buffer semantics: low byte of each
    # UTF-16 code unit).
    h = hashlib.sha256(b"pepper" + pw.encode("utf-16-le")).digest()
    auth0("sha256", {"algorithm": "sha256", "hash": {"value": h.hex(), "encoding": "hex"},
                     "salt": {"value": "pepper", "position": "prefix"}, "password": {"encoding": "utf16le"}})
    latin1 = bytes(u & 0xFF for u in memoryview(pw.encode("utf-16-le")).cast("H"))
    h = hashlib.sha1(latin1 + b"NaCl").digest()
    auth0("sha1", {"algorithm": "sha1", "hash": {"value": base64.b64encode(h).decode(), "encoding": "base64"},
                   "salt": {"value": base64.b64encode(b"NaCl").decode(), "encoding": "base64", "position": "suffix"},
                   "password": {"encoding": "latin1"}})
    for digest in ("md5", "sha1", "sha256", "sha512"):
        key = os.urandom(32)
        h = hmac.new(key, salt + pw.encode(), digest).digest()
        auth0("hmac-" + digest, {"algorithm": "hmac",
                                 "hash": {"value": base64.b64encode(h).decode(), "encoding": "base64", "digest": digest,
                                          "key": {"value": key.hex(), "encoding": "hex"}},
                                 "salt": {"value": base64.b64encode(salt).decode(), "encoding": "base64", "position": "prefix"}})
    s = os.urandom(16)
    dk = hashlib.scrypt(pw.encode(), salt=s, n=2**12, r=8, p=1, dklen=48)
    auth0("scrypt", {"algorithm": "scrypt", "hash": {"value": base64.b64encode(dk).decode(), "encoding": "base64"},
                     "salt": {"value": s.hex(), "encoding": "hex"}, "keylen": 48, "cost": 4096, "blockSize": 8, "parallelization": 1})
    # bcrypt, argon2, ldap and pbkdf2 carry their own string in hash.value.
    add("bcrypt", passlib + " via auth0", bpw, "", auth0={"algorithm": "bcrypt", "hash": {"value": ph.bcrypt.using(rounds=4).hash(bpw)}})
    add("argon2id", passlib + " via auth0", pw, "", auth0={"algorithm": "argon2", "hash": {"value": ph.argon2.using(memory_cost=256, rounds=1).hash(pw)}})
    add("ldap-ssha256", passlib + " via auth0", pw, "", auth0={"algorithm": "ldap", "hash": {"value": ph.ldap_salted_sha256.hash(pw)}})
    salt = os.urandom(16)
    add("pbkdf2-sha512", "python3 hashlib.pbkdf2_hmac via auth0", pw, "", auth0={"algorithm": "pbkdf2", "hash": {
        "value": "$pbkdf2-sha512$i=2000,l=64$%s$%s" % (b64(salt), b64(hashlib.pbkdf2_hmac("sha512", pw.encode(), salt, 2000, 64))),
        "encoding": "utf8"}})

# crypt(3) style hashes from other command-line tools.
for pw in PASSWORDS[:2]:
    add("sha512-crypt", "mkpasswd (whois)", pw, run("mkpasswd", "--stdin", "-m", "sha-512", "-R", "7777", stdin=pw))
    add("sha256-crypt", "mkpasswd (whois)", pw, run("mkpasswd", "--stdin", "-m", "sha-256", stdin=pw))
    add("md5-crypt", "mkpasswd (whois)", pw, run("mkpasswd", "--stdin", "-m", "md5crypt", stdin=pw))
    add("sha512-crypt", "openssl passwd", pw, run("openssl", "passwd", "-6", "-stdin", stdin=pw))
    add("sha256-crypt", "openssl passwd", pw, run("openssl", "passwd", "-5", "-stdin", stdin=pw))
    add("md5-crypt", "openssl passwd", pw, run("openssl", "passwd", "-1", "-stdin", stdin=pw))
    add("apr1-md5-crypt", "openssl passwd", pw, run("openssl", "passwd", "-apr1", "-stdin", stdin=pw))
    add("bcrypt", "htpasswd (apache2-utils)", pw, run("htpasswd", "-nbB", "-C", "5", "u", pw).split(":", 1)[1])
    add("apr1-md5-crypt", "htpasswd (apache2-utils)", pw, run("htpasswd", "-nbm", "u", pw).split(":", 1)[1])

# The example published in the README of github.com/firebase/scrypt (its project
# parameters, one user's salt, password "user1password").
add("firebase-scrypt", "github.com/firebase/scrypt README", "user1password",
    "$fbscrypt$v=1,n=14,r=8,p=1,ss=Bw,sk=jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA"
    "$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ")

json.dump({"generator": "internal/password/testdata/gen_vectors.py",
           "note": "made by implementations independent of Gatehouse; each vector names its tool",
           "tools": [passlib + " with python3-bcrypt " + __import__("bcrypt").__version__
                     + " and python3-argon2 (argon2-cffi) " + __import__("argon2").__version__,
                     "Python " + sys.version.split()[0] + " hashlib and hmac, " + run("openssl", "version"),
                     "python3-cryptography " + __import__("cryptography").__version__,
                     "mkpasswd (whois " + run("dpkg-query", "-W", "-f=${Version}", "whois") + ")",
                     "htpasswd (apache2-utils " + run("dpkg-query", "-W", "-f=${Version}", "apache2-utils") + ")",
                     "the example of the github.com/firebase/scrypt README"],
           "vectors": vectors}, sys.stdout, ensure_ascii=False, indent=1)
sys.stdout.write("\n")
