"""JWT interop with PyJWT, driven by tests/tests/integration/jwt/refresh.rs.

    python jwt_interop.py genkey --alg ES256
        prints a new PKCS#8 private key PEM (EdDSA, ES256, RS256)
    python jwt_interop.py sign --alg ES256 --kid k1 --key key.pem --claims '{"sub": "42"}'
        prints a token signed by PyJWT (for HS256, --key holds the raw secret)
    python jwt_interop.py verify --token T --iss I --aud A (--jwks jwks.json | --alg HS256 --key secret)
        prints the verified claims as JSON, or exits 1 with PyJWT's reason on stderr
"""

import argparse
import json
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def genkey(args):
    if args.alg == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    elif args.alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif args.alg == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        sys.exit(f"unsupported algorithm {args.alg}")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    sys.stdout.write(pem.decode())


def read_key(path, alg):
    with open(path, "rb") as f:
        data = f.read()
    return data if alg.startswith("HS") else data.decode()


def sign(args):
    claims = json.loads(args.claims)
    token = jwt.encode(claims, read_key(args.key, args.alg), algorithm=args.alg, headers={"kid": args.kid})
    print(token)


def verify(args):
    try:
        if args.jwks:
            with open(args.jwks) as f:
                jwks = jwt.PyJWKSet.from_dict(json.load(f))
            kid = jwt.get_unverified_header(args.token).get("kid")
            matching = [k for k in jwks.keys if k.key_id == kid]
            if not matching:
                sys.exit(f"no key {kid!r} in the JWKS")
            jwk = matching[0]
            key, algorithms = jwk.key, [jwk.algorithm_name]
        else:
            key, algorithms = read_key(args.key, args.alg), [args.alg]
        claims = jwt.decode(
            args.token,
            key,
            algorithms=algorithms,
            issuer=args.iss,
            audience=args.aud,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(claims))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("genkey")
    p.add_argument("--alg", required=True)
    p.set_defaults(run=genkey)

    p = sub.add_parser("sign")
    p.add_argument("--alg", required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--key", required=True, help="private key PEM file, or secret file for HS*")
    p.add_argument("--claims", required=True, help="JSON object")
    p.set_defaults(run=sign)

    p = sub.add_parser("verify")
    p.add_argument("--token", required=True)
    p.add_argument("--iss", required=True)
    p.add_argument("--aud", required=True)
    p.add_argument("--jwks", help="JWKS file")
    p.add_argument("--alg", help="with --key, for HS*")
    p.add_argument("--key", help="secret file, for HS*")
    p.set_defaults(run=verify)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
