"""The password policy: long enough, letters and digits, not the username, not a common one."""
import secrets
import string

from flask_babel import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_DISTINCT = 5

# Passwords and password stems seen most often in leaked lists, Chinese sites included
# (pinyin, "520/1314" love numbers, QQ-style digit runs, keyboard walks), plus this
# deployment's own words. Compared lower-cased, whole and with digits and symbols stripped
# from both ends, so "Password2024!" and "woaini1314" are caught by their stems.
COMMON = frozenset("""
123456 123456789 12345678 1234567890 12345 1234567 123123 111111 000000 666666 888888
654321 123321 112233 121212 123654 147258 147258369 159357 159753 456789 520520 5201314
1314520 1qaz2wsx 1qaz2wsx3edc 1q2w3e4r 1q2w3e4r5t 1q2w3e 2wsx3edc q1w2e3r4 q1w2e3r4t5
qwe123 qwe123456 qweasd qweasdzxc qwerty qwertyuiop qwert asdf asdfgh asdfghjkl zxcv
zxcvbn zxcvbnm qaz wsx edc qazwsx qazwsxedc abc abcd abcde abcdef abcdefg abc123
abcd1234 abc123456 a123456 a123456789 aa123456 aaa111 aaaaaa a1b2c3 a1b2c3d4 123abc
123qwe 1a2b3c password passw0rd p@ssw0rd p@ssword pass pwd mima mimamima woaini woaini520
woaini1314 iloveyou iloveu love lover loveyou wodemima nihao nihao123 zhang wang li liu
chen yang huang zhao zhou wu xu sun ma zhu hu guo he lin luo gao zhangwei wangwei
wangfang liwei lina zhangmin liqiang wangjing liuwei wangxiuying zhongguo china beijing
shanghai guangzhou shenzhen chengdu guiyang guizhou baidu taobao tencent weixin wechat
qq qq123456 qqqqqq admin admin123 admin888 administrator root root123 toor test test123
testtest guest user user123 super superman batman dragon monkey tiger shadow master
sunshine princess football baseball welcome welcome1 letmein login hello hello123
whatever trustno1 starwars computer internet freedom qazxsw asdasd zxczxc 7758521
7758258 5211314 1314 520 521 888 666 999 168 518 fuck fuckyou killer secret changeme
default fieldlog fieldlog123 diyishuji shuji cunwei dangyuan gongzuo zhucun xiangcun
zhengfu dangwei zuzhibu ganbu demo demo1234 temp temppass
""".split())

_STRIP = string.digits + string.punctuation + " "


def problems(password: str, username: str = "") -> list[str]:
    """Return what is wrong with a new password (translated messages); empty when it is fine."""
    found = []
    if len(password) < MIN_LENGTH:
        found.append(_("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        found.append(_("Use at most %(n)d characters.", n=MAX_LENGTH))
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        found.append(_("Use both letters and digits."))
    lowered = password.lower()
    name = username.strip().lower()
    if name and (lowered == name or (len(name) >= 3 and name in lowered)):
        found.append(_("Do not use your username in the password."))
    if lowered in COMMON or lowered.strip(_STRIP) in COMMON or not lowered.strip(_STRIP):
        found.append(_("This password is too common; choose another."))
    elif len(set(lowered)) < MIN_DISTINCT:
        found.append(_("Use more different characters."))
    return found


# No 0/O, 1/l/I: the admin reads the temporary password out over the phone.
_TEMP_LETTERS = "abcdefghjkmnpqrstuvwxyz"
_TEMP_DIGITS = "23456789"


def temporary_password() -> str:
    """Return a random password that passes the policy, easy to read out: "k7mq-x3hp-9tvb"."""
    alphabet = _TEMP_LETTERS + _TEMP_DIGITS
    while True:
        chars = "".join(secrets.choice(alphabet) for _ in range(12))
        if any(c in _TEMP_DIGITS for c in chars) and any(c in _TEMP_LETTERS for c in chars):
            return "-".join(chars[i:i + 4] for i in range(0, 12, 4))
