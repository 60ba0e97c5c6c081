# git box — build, test, demo, install.
#
#   make                  build build/git-box
#   make test             install missing packages (as root), build, run t/
#   make demo             install missing packages (as root), build, run the story
#   make install          prefix=/usr/local DESTDIR=
#   make V=1              show full command lines
#   make SANITIZE=address,undefined
#   make DEVELOPER=1      -Werror and extra warnings
#
# Local settings go in config.mak.

-include config.mak

VERSION = 0.1.0
prefix ?= /usr/local
bindir = $(prefix)/bin
datadir = $(prefix)/share/git-box
mandir = $(prefix)/share/man
bashcompdir = $(prefix)/share/bash-completion/completions
DESTDIR ?=

CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS = libgit2 openssl gpgme yaml-0.1 libarchive libcurl jansson
BUILD = build

CFLAGS ?= -O2 -g
BOX_CFLAGS = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
	-Igit-box -Ihooks -Ifilters -I$(BUILD) -DGIT_BOX_VERSION='"$(VERSION)"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
BOX_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread

ifdef DEVELOPER
BOX_CFLAGS += -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wvla -Wformat=2
endif
ifdef SANITIZE
BOX_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifndef V
QUIET_CC = @echo '   ' CC $@;
QUIET_LINK = @echo '   ' LINK $@;
QUIET_GEN = @echo '   ' GEN $@;
endif

SRCS = $(wildcard git-box/*.c) $(wildcard hooks/*.c) $(wildcard filters/*.c)
OBJS = $(patsubst %.c,$(BUILD)/obj/%.o,$(SRCS)) $(BUILD)/obj/templates.o
# Pure modules the C unit tests link against (no main, no printing).
LIB_OBJS = $(filter-out $(BUILD)/obj/git-box/main.o $(BUILD)/obj/git-box/cmd-%.o $(BUILD)/obj/hooks/%.o $(BUILD)/obj/filters/process.o $(BUILD)/obj/filters/readonly.o,$(OBJS))
TEMPLATES = $(wildcard templates/hooks/*) templates/policy.yaml templates/gitattributes

UNIT_SRCS = $(wildcard t/unit/test-*.c)
UNIT_BINS = $(patsubst t/unit/%.c,$(BUILD)/t/unit/%,$(UNIT_SRCS))

MAN1 = $(patsubst Documentation/%.adoc,$(BUILD)/man/man1/%.1,$(wildcard Documentation/git-box*.adoc))
MAN5 = $(patsubst Documentation/%.adoc,$(BUILD)/man/man5/%.5,$(wildcard Documentation/gitbox-*.adoc))
MANPAGES = $(MAN1) $(MAN5)
ASCIIDOCTOR ?= asciidoctor
HAVE_ASCIIDOCTOR := $(shell command -v $(ASCIIDOCTOR) >/dev/null 2>&1 && echo yes)

all: $(BUILD)/git-box $(BUILD)/git-box-tsa doc

$(BUILD)/git-box: $(OBJS)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $(OBJS) $(BOX_LIBS)

$(BUILD)/obj/%.o: %.c $(wildcard git-box/*.h hooks/*.h filters/*.h) $(BUILD)/templates.h
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(CPPFLAGS) $(BOX_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/templates.c: $(TEMPLATES) templates/embed.sh
	@mkdir -p $(BUILD)
	$(QUIET_GEN)sh templates/embed.sh $(BUILD)/templates $(TEMPLATES)

$(BUILD)/templates.h: $(BUILD)/templates.c

$(BUILD)/obj/templates.o: $(BUILD)/templates.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(BOX_CFLAGS) $(CFLAGS) -c -o $@ $<

# The contrib TSA server is built only where libmicrohttpd is present.
TSA_SRCS = $(wildcard contrib/tsa-server/*.c)
ifneq ($(TSA_SRCS),)
$(BUILD)/git-box-tsa: $(TSA_SRCS)
	@mkdir -p $(BUILD)
	$(QUIET_LINK)$(CC) $(BOX_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(TSA_SRCS) \
		$$($(PKG_CONFIG) --cflags --libs libmicrohttpd openssl)
else
$(BUILD)/git-box-tsa:
	@:
endif

$(BUILD)/t/unit/%: t/unit/%.c t/unit/unit.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(BOX_CFLAGS) $(CFLAGS) $(LDFLAGS) -It/unit -o $@ $< $(LIB_OBJS) \
		$(BOX_LIBS) $$($(PKG_CONFIG) --cflags --libs check)

doc: $(if $(HAVE_ASCIIDOCTOR),$(MANPAGES))

ASCIIDOCTOR_MAN = $(ASCIIDOCTOR) -b manpage -a mansource=git-box -a manversion=$(VERSION) \
	-a manmanual='Git Box Manual'

$(BUILD)/man/man1/%.1: Documentation/%.adoc
	@mkdir -p $(dir $@)
	$(QUIET_GEN)$(ASCIIDOCTOR_MAN) -o $@ $<

$(BUILD)/man/man5/%.5: Documentation/%.adoc
	@mkdir -p $(dir $@)
	$(QUIET_GEN)$(ASCIIDOCTOR_MAN) -o $@ $<

deps:
	@sh contrib/install-deps.sh

test: deps
	@$(MAKE) --no-print-directory all unit-bins
	@$(MAKE) --no-print-directory run-tests

unit-bins: $(UNIT_BINS)

# Test vectors made by others live beside the project (../shared/vectors);
# tests that need them skip when the folder is absent.
BOX_VECTORS ?= $(abspath ../shared/vectors)
export BOX_VECTORS

run-tests: unit-bins
	@set -e; for t in $(UNIT_BINS); do echo "*** $$t"; $$t; done
	cd t && BOX_BUILD_DIR=$(abspath $(BUILD)) prove --timer -j2 $(PROVE_OPTS) ./t[0-9]*.sh

# The whole suite with every git-box run under valgrind: any leak or error fails.
VALGRIND_DIR = $(BUILD)/valgrind
test-valgrind: all unit-bins
	@mkdir -p $(VALGRIND_DIR)
	@ln -sfn ../man $(VALGRIND_DIR)/man
	@ln -sfn ../t $(VALGRIND_DIR)/t
	@ln -sfn ../git-box-tsa $(VALGRIND_DIR)/git-box-tsa
	@printf '#!/bin/sh\nexec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --suppressions=%s "%s" "$$@"\n' \
		"$(abspath t/valgrind.supp)" "$(abspath $(BUILD)/git-box)" >$(VALGRIND_DIR)/git-box
	@chmod +x $(VALGRIND_DIR)/git-box
	@set -e; for t in $(UNIT_BINS); do CK_FORK=no valgrind -q --leak-check=full --error-exitcode=99 $$t; done
	cd t && BOX_VALGRIND=1 BOX_BUILD_DIR=$(abspath $(VALGRIND_DIR)) prove -j2 $(PROVE_OPTS) ./t[0-9]*.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh contrib/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh

install: all
	install -d '$(DESTDIR)$(bindir)' '$(DESTDIR)$(datadir)/templates/hooks'
	install -m 0755 $(BUILD)/git-box '$(DESTDIR)$(bindir)/git-box'
	install -m 0755 templates/hooks/* '$(DESTDIR)$(datadir)/templates/hooks/'
	install -m 0644 templates/policy.yaml templates/gitattributes '$(DESTDIR)$(datadir)/templates/'
	install -d '$(DESTDIR)$(datadir)/server'
	install -m 0755 contrib/server/setup-box-server.sh contrib/server/pre-receive '$(DESTDIR)$(datadir)/server/'
	install -d '$(DESTDIR)$(bashcompdir)'
	install -m 0644 contrib/completion/git-box.bash '$(DESTDIR)$(bashcompdir)/git-box'
	if test -x $(BUILD)/git-box-tsa; then install -m 0755 $(BUILD)/git-box-tsa '$(DESTDIR)$(bindir)/git-box-tsa'; fi
	@set -e; for m in $(MAN1) $(MAN5); do test -f $$m || continue; \
		s=$${m##*.}; install -d '$(DESTDIR)$(mandir)'/man$$s; \
		install -m 0644 $$m '$(DESTDIR)$(mandir)'/man$$s/; \
	done

uninstall:
	rm -f '$(DESTDIR)$(bindir)/git-box' '$(DESTDIR)$(bindir)/git-box-tsa'
	rm -f '$(DESTDIR)$(bashcompdir)/git-box'
	rm -rf '$(DESTDIR)$(datadir)'
	rm -f '$(DESTDIR)$(mandir)'/man1/git-box*.1 '$(DESTDIR)$(mandir)'/man5/gitbox-*.5

clean:
	rm -rf $(BUILD) t/trash\ directory.* t/test-results

.PHONY: all doc deps test test-valgrind unit-bins run-tests demo bench install uninstall clean
.DELETE_ON_ERROR:
