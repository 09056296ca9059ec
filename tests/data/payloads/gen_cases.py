#!/usr/bin/env python3
"""Writes the payload seed files of tests/data/payloads/{valid,invalid}/.

The files are the test data of tests/unit/common/test_common_payload.c (which states, per
invalid file, the expected reason code and member) and the seeds of the payload fuzzer.
Run from anywhere: python3 tests/data/payloads/gen_cases.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
HEAD = b'{"v":1,"id":"hn-air-0001","boot":3,"seq":1742,"ts":1763888400000,'


def air(m, head=HEAD, tail=b''):
    return head + b'"m":' + m + tail + b'}'


VALID = {
    'air-example': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":1742,"ts":1763888400000,'
                   b'"m":{"pm25":41.2,"pm10":63.0,"no2":22.1,"t":29.4,"rh":78}}',
    'air-full': air(b'{"pm25":41.2,"pm10":63,"no2":22.1,"so2":5.5,"o3":80,"co":900.25,'
                    b'"t":-3.5,"rh":78}', tail=b',"bat":3.71,"rssi":-87'),
    'air-whitespace': b' {\n\t"v" : 1 ,\r\n "id" : "hn-air-0001", "boot": 0, "seq": 0,\n'
                      b' "ts": 1763888400000, "m": { "pm25" : 4.12e1 , "rh": 1E+1 } }\n',
    'air-seq-2p53m1': b'{"v":1,"id":"hn-air-0001","boot":9007199254740991,'
                      b'"seq":9007199254740991,"ts":-9007199254740991,"m":{}}',
    'air-pm25-string': air(b'{"pm25":"41.2","pm10":63,"t":null}'),
    'air-unknown-member': air(b'{"pm25":41.2,"x":1,"PM25":2,"caf\\u00e9":"\xc3\xa9",'
                              b'"nested":{"a":[1,true]}}'),
    'air-unicode': air(b'{"pm25":1,"note":"H\xc3\xa0 N\xe1\xbb\x99i \\ud83c\\udf27 \xf0\x9f\x8c\xa7"}'),
    'air-number-63-chars': air(b'{"pm25":0.' + b'1' * 61 + b'}'),
    'air-escaped-key': air(b'{"p\\u006d25":41.2,"\\u0074":-1}'),
    'water-full': b'{"v":1,"id":"hn-water-0007","boot":1,"seq":2,"ts":1763888400000,'
                  b'"m":{"ph":7.2,"do":6.8,"turb":12.5,"ec":450,"t":27.1,"nh4":0.35,'
                  b'"cod":18,"tss":25.5},"bat":12.1}',
    'water-core': b'{"v":1,"id":"hn-water-0008","boot":1,"seq":3,"ts":1763888400000,'
                  b'"m":{"ph":6.9,"do":5.1,"turb":40,"ec":800,"t":25}}',
    'rain': b'{"v":1,"id":"hn-rain-0003","boot":2,"seq":10,"ts":1763888400000,'
            b'"m":{"tips":4294967295,"mm":0.2},"rssi":-101}',
    'rain-tips-fraction': b'{"v":1,"id":"hn-rain-0003","boot":2,"seq":11,"ts":1763888400000,'
                          b'"m":{"tips":1.5,"mm":0.4}}',
    'flood': b'{"v":1,"id":"hn-flood-0012","boot":5,"seq":99,"ts":1763888400000,'
             b'"m":{"depth":12.5}}',
    'parking-lot': b'{"v":1,"id":"hn-park-0001","boot":1,"seq":5,"ts":1763888400000,'
                   b'"m":{"capacity":120,"occupied":87}}',
    'parking-bay': b'{"v":1,"id":"hn-bay-0001-017","boot":1,"seq":6,"ts":1763888400000,'
                   b'"m":{"occupied":true}}',
}

INVALID = {
    'json-duplicate-key': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":1,"seq":2,'
                          b'"ts":1763888400000,"m":{}}',
    'json-duplicate-key-in-m': air(b'{"pm25":1,"pm10":2,"pm25":3}'),
    'json-duplicate-key-nested': air(b'{"x":{"a":1,"a":2}}'),
    'json-duplicate-key-escaped': air(b'{"pm25":1,"p\\u006d25":2}'),
    'json-int-2p53p1': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":9007199254740993,'
                       b'"ts":1763888400000,"m":{}}',
    'json-number-1e400': air(b'{"pm25":1e400}'),
    'json-nan-token': air(b'{"pm25":NaN}'),
    'json-infinity-token': air(b'{"pm25":-Infinity}'),
    'json-leading-zero': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":01,'
                         b'"ts":1763888400000,"m":{}}',
    'json-bare-minus': air(b'{"pm25":-}'),
    'json-fraction-no-digits': air(b'{"pm25":1.}'),
    'json-depth-5': air(b'{"x":[[[1]]]}'),
    'json-truncated': air(b'{"pm25":41.2')[:-2],
    'json-truncated-string': HEAD[:30],
    'json-trailing-garbage': air(b'{"pm25":1}') + b'x',
    'json-two-objects': air(b'{}') + b'{}',
    'json-unescaped-control': b'{"v":1,"id":"hn-air\t0001","boot":3,"seq":1,'
                              b'"ts":1763888400000,"m":{}}',
    'json-single-quotes': b"{'v':1}",
    'json-trailing-comma': air(b'{"pm25":1,}'),
    'json-invalid-escape': air(b'{"pm25":1,"note":"a\\x"}'),
    'json-raw-nul': air(b'{"pm25":1}')[:-1] + b'\x00}',
    'utf8-invalid-byte': air(b'{"note":"\xff"}'),
    'utf8-overlong-2byte': air(b'{"note":"\xc0\xaf"}'),
    'utf8-overlong-3byte': air(b'{"note":"\xe0\x80\xaf"}'),
    'utf8-surrogate-raw': air(b'{"note":"\xed\xa0\x80"}'),
    'utf8-above-10ffff': air(b'{"note":"\xf4\x90\x80\x80"}'),
    'utf8-truncated-sequence': air(b'{"note":"\xe1\x80"}'),
    'utf8-escaped-nul': b'{"v":1,"id":"hn-air\\u00000001","boot":3,"seq":1,'
                        b'"ts":1763888400000,"m":{}}',
    'utf8-lone-high-surrogate': air(b'{"note":"\\ud800x"}'),
    'utf8-lone-low-surrogate': air(b'{"note":"\\udc00"}'),
    'utf8-bad-byte-in-key': air(b'{"\xfe":1}'),
    'size-4097': air(b'{"pm25":1}') + b' ' * (4097 - len(air(b'{"pm25":1}'))),
    'size-empty': b'',
    'schema-v2': b'{"v":2,"id":"hn-air-0001","boot":3,"seq":1,"ts":1763888400000,"m":{}}',
    'schema-missing-ts': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":1,"m":{}}',
    'schema-missing-m': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":1,"ts":1763888400000}',
    'schema-seq-negative': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":-1,'
                           b'"ts":1763888400000,"m":{}}',
    'schema-seq-fraction': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":1.5,'
                           b'"ts":1763888400000,"m":{}}',
    'schema-seq-integral-float': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":1.0,'
                                 b'"ts":1763888400000,"m":{}}',
    'schema-case-different-key': b'{"v":1,"id":"hn-air-0001","boot":3,"Seq":1,'
                                 b'"ts":1763888400000,"m":{}}',
    'schema-id-uppercase': b'{"v":1,"id":"HN-AIR-0001","boot":3,"seq":1,'
                           b'"ts":1763888400000,"m":{}}',
    'schema-id-too-long': b'{"v":1,"id":"' + b'a' * 65 + b'","boot":3,"seq":1,'
                          b'"ts":1763888400000,"m":{}}',
    'schema-id-number': b'{"v":1,"id":7,"boot":3,"seq":1,"ts":1763888400000,"m":{}}',
    'schema-unknown-top-member': air(b'{}', tail=b',"extra":1'),
    'schema-m-not-object': air(b'[1]'),
    'schema-not-object': b'[1,2]',
    'schema-boot-string': b'{"v":1,"id":"hn-air-0001","boot":"3","seq":1,'
                          b'"ts":1763888400000,"m":{}}',
    'schema-ts-exponent': b'{"v":1,"id":"hn-air-0001","boot":3,"seq":1,"ts":1.7e12,"m":{}}',
    'schema-bat-string': air(b'{}', tail=b',"bat":"3.7"'),
    'json-number-64-chars': air(b'{"pm25":0.' + b'1' * 62 + b'}'),
    'schema-id-long-utf8': b'{"v":1,"id":"aa' + 'hà-nội-'.encode() * 6 + b'","boot":3,"seq":1,'
                           b'"ts":1763888400000,"m":{}}',
    'schema-rssi-fraction': air(b'{}', tail=b',"rssi":-70.5'),
}


def write(sub, cases):
    d = os.path.join(HERE, sub)
    os.makedirs(d, exist_ok=True)
    for name, data in cases.items():
        with open(os.path.join(d, name + '.json'), 'wb') as f:
            f.write(data)


write('valid', VALID)
write('invalid', INVALID)
print(len(VALID), 'valid,', len(INVALID), 'invalid')
