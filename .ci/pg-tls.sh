#!/usr/bin/env bash
# Gives the machine's PostgreSQL a certificate from a CA made here, so the
# TLS test (crates/zcrm-cli/tests/pg_tls.rs) can check sslmode=verify-ca and
# verify-full against a real server. Usage: .ci/pg-tls.sh DIR
# Writes DIR/ca.pem (the CA PostgreSQL's certificate is signed by; the
# certificate names only "localhost") and DIR/other-ca.pem (a CA that signed
# nothing), points PostgreSQL at the new key and certificate, and reloads it.
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
conf_dir=/etc/postgresql/$(ls /etc/postgresql | head -1)/main
for ca in ca other-ca; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=zcrm test $ca" \
    -keyout "$ca.key" -out "$ca.pem" 2>/dev/null
done
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
  -extfile server.ext -out server.pem 2>/dev/null
# PostgreSQL reads its key only if the postgres user owns it, mode 0600.
install -o postgres -g postgres -m 0600 server.key "$conf_dir/zcrm-test.key"
install -o postgres -g postgres -m 0644 server.pem "$conf_dir/zcrm-test.pem"
psql postgres://postgres@127.0.0.1:5432/test -qc "ALTER SYSTEM SET ssl = on" \
  -c "ALTER SYSTEM SET ssl_cert_file = '$conf_dir/zcrm-test.pem'" \
  -c "ALTER SYSTEM SET ssl_key_file = '$conf_dir/zcrm-test.key'" \
  -c "SELECT pg_reload_conf()" >/dev/null
echo "PostgreSQL now serves TLS with a certificate for localhost signed by $dir/ca.pem"
