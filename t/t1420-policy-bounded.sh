#!/bin/sh

test_description='reading a policy costs time in proportion to its size

A policy is read by every command, by every hook and by a server'"'"'s
pre-receive: its nesting depth and number of values are capped before
libyaml builds it, and the checks for a signer or a rule name listed
twice cost linear time. Growth is judged by the ratio of CPU times at
1x, 2x, 4x and 8x of a large policy, never by an absolute time.'

. ./lib-box.sh

# The first lines of every policy below; each adds what it is about.
cat >head.yaml <<\EOF
version: 1
name: study
branch: main
inputs: [input/]
EOF

# Policies of every size and shape these tests need: gen.py KIND SIZE FILE.
cat >gen.py <<\EOF
import sys

kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
head = open("head.yaml").read()
out = [head]
if kind == "signers":
    # Fingerprints alike but for their last digits: comparing two is slow.
    out.append("signing:\n  when: seal\n  quorum: 1\n  signers:\n")
    out += ["    - %040X\n" % (0xABCDEF0123456789ABCDEF0123456789A0000000 + i) for i in range(n)]
elif kind == "rules":
    out.append("signing: {when: none}\nrules:\n  forbid_content:\n")
    out += ["  - {name: forbidden-content-rule-%05d, regex: x}\n" % i for i in range(n)]
elif kind == "nests":
    # n lists nested 31 deep under the top mapping: 32 levels, the cap.
    out.append("outputs: [" + ", ".join(["[" * 30 + "]" * 30] * n) + "]\n")
elif kind == "deep":
    out.append("outputs: " + "[" * n + "]" * n + "\n")
elif kind == "values":
    # 18 values besides these n
    out.append("signing: {when: none}\nrules:\n  forbid_paths: [" + ",".join(["a"] * n) + "]\n")
else:
    sys.exit("unknown kind " + kind)
open(path, "w").write("".join(out))
EOF

# The least CPU time (user and system) `git box init` takes on FILE.
cat >cputime.py <<\EOF
import os, resource, subprocess, sys

def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

best = None
for run in range(3):
    before = cpu()
    subprocess.run(["git-box", "init", "target", "--policy", sys.argv[1], "--from", "missing"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = cpu() - before
    best = took if best is None else min(best, took)
    if took > 2:
        break
print("%.6f" % best)
EOF

# scales KIND N: the policies of N, 2N, 4N and 8N KIND parse in times
# growing no worse than linearly: past the time of a policy of 0 KIND
# (starting git box), 8N takes less than 24 times what N takes (8 when
# linear, 64 when quadratic).
scales () {
	for k in 0 1 2 4 8
	do
		python3 gen.py "$1" $(($2 * k)) "$1-$k.yaml" &&
		python3 cputime.py "$1-$k.yaml" >"$1-$k.time" || return 1
	done &&
	echo "$1: $(cat "$1-0.time") $(cat "$1-1.time") $(cat "$1-2.time") $(cat "$1-4.time") $(cat "$1-8.time") s" &&
	test_path_is_missing target &&
	python3 -c "
import sys
t0, t1, t8 = (float(open(f).read()) for f in sys.argv[1:])
sys.exit(t8 - t0 >= 24 * max(t1 - t0, 0.01))" "$1-0.time" "$1-1.time" "$1-8.time"
}

# nested KIND DEPTH FILE: a policy whose outputs nest DEPTH levels of KIND.
nested () {
	python3 - "$@" <<-\EOF
	import sys
	kind, depth, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
	head = open("head.yaml").read()
	if kind == "flow-sequences":
	    body = "outputs: " + "[" * depth + "]" * depth + "\n"
	elif kind == "flow-mappings":
	    body = "outputs: " + "{a: " * depth + "b" + "}" * depth + "\n"
	elif kind == "block-mappings":
	    body = "outputs:\n" + "".join("  " * (i + 1) + "a:\n" for i in range(depth - 1)) + "  " * depth + "a: b\n"
	elif kind == "block-sequences":
	    body = "outputs:\n" + "  " + "- " * depth + "b\n"
	elif kind == "mixed":
	    body = "outputs:\n  - " + "{a: [" * (depth // 2) + "b" + "]}" * (depth // 2) + "\n"
	open(path, "w").write(head + body)
	EOF
}

test_expect_success 'a policy nested deeper than 32 levels is refused where it gets too deep' '
	for kind in flow-sequences flow-mappings block-mappings block-sequences mixed
	do
		nested $kind 40 p.yaml &&
		test_expect_code 2 git box init box --policy p.yaml >out 2>err &&
		grep "^error: p.yaml:[0-9]*:[0-9]*: the policy nests deeper than 32 levels$" err &&
		test_must_be_empty out &&
		test_path_is_missing box || return 1
	done
'

test_expect_success 'the refusal names the line and column of the 33rd level' '
	nested flow-sequences 33 p.yaml &&
	test_expect_code 2 git box init box --policy p.yaml 2>err &&
	grep "^error: p.yaml:5:41: the policy nests deeper than 32 levels$" err &&
	nested block-mappings 40 p.yaml &&
	test_expect_code 2 git box init box --policy p.yaml 2>err &&
	grep "^error: p.yaml:37:65: the policy nests deeper than 32 levels$" err
'

test_expect_success '32 levels are read, and judged by the key they are under' '
	for kind in flow-sequences flow-mappings block-mappings block-sequences
	do
		nested $kind 31 p.yaml &&
		test_expect_code 2 git box init box --policy p.yaml 2>err &&
		grep "^error: p.yaml:[0-9]*:[0-9]*: outputs\(\[0\]\)\{0,1\}: expected a \(string\|sequence\), got a \(sequence\|mapping\)$" err &&
		test_path_is_missing box || return 1
	done
'

test_expect_success 'a policy of more than 100000 values is refused before it is loaded' '
	test_when_finished "rm -rf box" &&
	python3 gen.py values 99983 p.yaml &&
	test_expect_code 2 git box init box --policy p.yaml 2>err &&
	grep "^error: p.yaml:[0-9]*:[0-9]*: the policy has more than 100000 values$" err &&
	test_path_is_missing box
'

test_expect_success 'a policy of 100000 values is read' '
	python3 gen.py values 99982 p.yaml &&
	test_expect_code 2 git box init box --policy p.yaml --from missing 2>err &&
	grep "^error: .*missing" err &&
	! grep "values" err
'

test_expect_success 'a signer listed twice is refused at its second place, however it is written' '
	fpr=$(box_fpr alice) &&
	lower=$(echo "$fpr" | tr A-F a-f) &&
	spaced=$(echo "$fpr" | sed "s/..../& /g; s/ $//") &&
	for twice in "$fpr" "$lower" "$spaced"
	do
		{
			cat head.yaml &&
			echo "signing:" &&
			echo "  signers:" &&
			echo "    - $fpr" &&
			echo "    - $(box_fpr bob)" &&
			echo "    - \"$twice\""
		} >p.yaml &&
		test_expect_code 2 git box init box --policy p.yaml 2>err &&
		grep "^error: p.yaml:9:7: signing.signers\[2\]: fingerprint $fpr is listed twice$" err &&
		test_path_is_missing box || return 1
	done
'

test_expect_success 'a rule name used twice is refused at its second place' '
	{
		cat head.yaml &&
		echo "rules:" &&
		echo "  forbid_content:" &&
		echo "    - {name: ssn, regex: x}" &&
		echo "    - {name: iban, regex: y}" &&
		echo "    - {name: \"ssn\", regex: z}"
	} >p.yaml &&
	test_expect_code 2 git box init box --policy p.yaml 2>err &&
	grep "^error: p.yaml:9:14: rules.forbid_content\[2\].name: rule name .ssn. is used twice$" err &&
	test_path_is_missing box
'

test_expect_success 'a content rule with a backreference is refused: matching it could take for ever' '
	cat head.yaml - >p.yaml <<-\EOF &&
	signing: {when: none}
	rules:
	  forbid_content:
	    - name: twice
	      regex: (a*)(a*)\2\1c
	EOF
	test_expect_code 2 git box init box --policy p.yaml 2>err &&
	grep "^error: p.yaml:9:14: rules.forbid_content\[0\].regex: .(a\*)(a\*)\\\\2\\\\1c. uses a backreference (\\\\1 to \\\\9)" err &&
	test_path_is_missing box
'

test_expect_success 'the largest policies below are read whole (the source is what is missing)' '
	for kind in signers:20000 rules:19200
	do
		python3 gen.py ${kind%:*} ${kind#*:} p.yaml &&
		test $(wc -c <p.yaml) -le 1048576 &&
		test_expect_code 2 git box init target --policy p.yaml --from missing 2>err &&
		grep "^error: .*missing" err || return 1
	done &&
	python3 gen.py nests 3200 p.yaml &&
	test_expect_code 2 git box init target --policy p.yaml 2>err &&
	grep "outputs\[0\]: expected a string, got a sequence" err
'

test_expect_success !VALGRIND 'many signers cost linear time' '
	scales signers 2500
'

test_expect_success !VALGRIND 'many content rules cost linear time' '
	scales rules 2400
'

test_expect_success !VALGRIND 'many lists nested to the cap cost linear time' '
	scales nests 400
'

test_expect_success !VALGRIND 'nesting past the cap costs no more than nesting to it' '
	scales deep 10000
'

test_done
