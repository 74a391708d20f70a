// SPDX-License-Identifier: GPL-2.0-only
/*
 * The manual pages and the bash completion against the programs they
 * describe. Every list here is read from the real thing (the --help of the
 * built binaries, the daemon's table of config keys), never written out,
 * so a new option, command or key that reaches users without its
 * documentation or its completion fails here. The pages must also render
 * without a single warning: lintian runs the same check on the package.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "kselftest_harness.h"
#include "daemon_run.h"
#include "config.h"
#include "ctl_format.h"

#define MAN_DIR		"docs/man"
#define COMPLETION	"packaging/bash-completion/exfilctl"
#define BASH_COMPLETION	"/usr/share/bash-completion/bash_completion"
#define CONFIG_SRC	"userspace/config.c"

/*
 * The VM guests carry build/ and tests/run.sh, not the source tree, so
 * there is nothing to check there. On the host the tree is the working
 * directory (tests/run.sh runs from it).
 */
#define NEED_SOURCE_TREE() do {						\
	if (access(CONFIG_SRC, R_OK))					\
		SKIP(return, "no source tree here (%s): a VM guest "	\
		     "carries only build/", CONFIG_SRC);		\
} while (0)

/* ------------------------------------------------------------------ */
/* Small sets of words */

#define MAX_WORDS	64
#define WORD_LEN	64

struct words {
	int n;
	char w[MAX_WORDS][WORD_LEN];
};

static bool words_has(const struct words *ws, const char *s)
{
	int i;

	for (i = 0; i < ws->n; i++)
		if (!strcmp(ws->w[i], s))
			return true;
	return false;
}

static void words_addn(struct words *ws, const char *s, size_t len)
{
	char w[WORD_LEN];

	if (!len || len >= WORD_LEN || ws->n == MAX_WORDS)
		return;
	memcpy(w, s, len);
	w[len] = '\0';
	if (!words_has(ws, w))
		strcpy(ws->w[ws->n++], w);
}

static void words_add(struct words *ws, const char *s)
{
	words_addn(ws, s, strlen(s));
}

/* One line per word, as the completion script prints COMPREPLY. */
static void words_from_lines(struct words *ws, const char *text)
{
	const char *p = text, *nl;

	memset(ws, 0, sizeof(*ws));
	while (*p) {
		nl = strchrnul(p, '\n');
		words_addn(ws, p, nl - p);
		p = *nl ? nl + 1 : nl;
	}
}

/* "a b c" for messages */
static const char *words_str(const struct words *ws)
{
	static char buf[MAX_WORDS * (WORD_LEN + 1)];
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < ws->n; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "",
			      ws->w[i]);
	return buf;
}

/* ------------------------------------------------------------------ */
/* What --help says */

struct usage_line {
	char cmd[WORD_LEN];		/* "" for "exfilctl --help | ..." */
	struct words ops;		/* watch: add rm, or list */
	struct words opts;		/* the command's own options */
};

struct help {
	struct words longs;		/* every --option in the text */
	struct words shorts;		/* "-c --config" pairs */
	struct words global;		/* options before the command */
	struct words commands;		/* USAGE and COMMANDS */
	struct usage_line usage[16];
	int nr_usage;
};

static bool opt_char(char c)
{
	return isalnum((unsigned char)c) || c == '-';
}

/* The lines under "NAME:" up to the next blank line, or NULL. */
static const char *help_section(const char *text, const char *name)
{
	const char *p = text;
	size_t len = strlen(name);

	while (p && *p) {
		if (!strncmp(p, name, len) && p[len] == '\n')
			return p + len + 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* "exfilctl [--socket PATH] watch add|rm PATH" */
static void parse_usage_line(struct help *h, const char *line, size_t len)
{
	struct usage_line *u = &h->usage[h->nr_usage];
	char buf[256], *tok, *save, *op, *save2;
	bool after_cmd_word = false;

	if (len >= sizeof(buf) || h->nr_usage == 16)
		return;
	memcpy(buf, line, len);
	buf[len] = '\0';
	memset(u, 0, sizeof(*u));
	tok = strtok_r(buf, " []", &save);
	if (!tok || strcmp(tok, "exfilctl"))
		return;
	while ((tok = strtok_r(NULL, " []", &save))) {
		if (!strcmp(tok, "|")) {
			continue;
		} else if (!after_cmd_word && strchr(tok, '|')) {
			/* "PID|--exe": an operand or another option */
			for (op = strtok_r(tok, "|", &save2); op;
			     op = strtok_r(NULL, "|", &save2))
				if (!strncmp(op, "--", 2))
					words_add(u->cmd[0] ? &u->opts :
						  &h->global, op);
		} else if (!strncmp(tok, "--", 2)) {
			words_add(u->cmd[0] ? &u->opts : &h->global, tok);
		} else if (islower((unsigned char)tok[0])) {
			if (!u->cmd[0]) {
				snprintf(u->cmd, sizeof(u->cmd), "%s", tok);
				words_add(&h->commands, tok);
				after_cmd_word = true;
				continue;
			}
			if (after_cmd_word)
				for (op = strtok_r(tok, "|", &save2); op;
				     op = strtok_r(NULL, "|", &save2))
					words_add(&u->ops, op);
		}
		/* PATH, ID, SQL, DURATION: operands */
		after_cmd_word = false;
	}
	h->nr_usage++;
}

static void parse_help(struct help *h, const char *text)
{
	const char *p, *nl;
	char s, l[WORD_LEN], pair[2 * WORD_LEN];

	memset(h, 0, sizeof(*h));
	for (p = strstr(text, "--"); p; p = strstr(p + 2, "--")) {
		size_t n = 2;

		if (p > text && opt_char(p[-1]))
			continue;
		if (!islower((unsigned char)p[2]))
			continue;
		while (opt_char(p[n]))
			n++;
		words_addn(&h->longs, p, n);
	}
	for (p = text; *p; p = *nl ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if (sscanf(p, " -%c, --%63[a-z0-9-]", &s, l) == 2) {
			snprintf(pair, sizeof(pair), "-%c --%s", s, l);
			words_add(&h->shorts, pair);
		}
	}
	/* a line indented further goes on with the one before it */
	p = help_section(text, "USAGE:");
	while (p && !strncmp(p, "  ", 2)) {
		char joined[256];
		size_t n;

		nl = strchrnul(p, '\n');
		n = snprintf(joined, sizeof(joined), "%.*s",
			     (int)(nl - p - 2), p + 2);
		p = *nl ? nl + 1 : nl;
		while (!strncmp(p, "   ", 3) && n < sizeof(joined)) {
			nl = strchrnul(p, '\n');
			n += snprintf(joined + n, sizeof(joined) - n, " %.*s",
				      (int)(nl - p), p);
			p = *nl ? nl + 1 : nl;
		}
		parse_usage_line(h, joined, strlen(joined));
	}
	/* "  show ID             the evidence ...": the first word */
	p = help_section(text, "COMMANDS:");
	while (p && !strncmp(p, "  ", 2)) {
		nl = strchrnul(p, '\n');
		if (islower((unsigned char)p[2]))
			words_addn(&h->commands, p + 2, strcspn(p + 2, " \n"));
		p = *nl ? nl + 1 : nl;
	}
}

static int get_help(struct help *h, const char *prog)
{
	struct cmd_result *r = malloc(sizeof(*r));
	const char *argv[] = { prog, "--help", NULL };
	int ret = -1;

	if (!r)
		return -1;
	if (!run_prog(r, (uid_t)-1, argv) && r->status == 0 && r->out[0]) {
		parse_help(h, r->out);
		ret = 0;
	}
	free(r);
	return ret;
}

/* ------------------------------------------------------------------ */
/* What a man page says */

static char *slurp(const char *path)
{
	struct stat st;
	char *buf;
	FILE *f;
	size_t n;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	buf = fstat(fileno(f), &st) ? NULL : malloc(st.st_size + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, st.st_size, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * Roff as words: "\-" is a hyphen, font changes, "\&" and quotes go, so
 * ".BR \-c \", \" \-\-config" reads ".BR -c ,  --config".
 */
static void roff_plain(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] == '-') {
			*out++ = '-';
			s += 2;
		} else if (s[0] == '\\' && s[1] == '&') {
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'f' && s[2] == '[') {
			s = strchrnul(s, ']');
			if (*s)
				s++;
		} else if (s[0] == '\\' && s[1] == 'f' && s[2]) {
			s += 3;
		} else if (*s == '"') {
			s++;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/*
 * The text from the line "<mark>" (".SH OPTIONS", ".SS [watch]") to the
 * next heading of that level or above; malloc'd, plain, or NULL.
 */
static char *roff_block(const char *page, const char *mark)
{
	char head[128], *out;
	const char *p, *end, *next;

	snprintf(head, sizeof(head), "\n%s\n", mark);
	p = strstr(page, head);
	if (!p)
		return NULL;
	p += strlen(head);
	end = strstr(p, "\n.SH ");
	if (!strncmp(mark, ".SS ", 4)) {
		next = strstr(p, "\n.SS ");
		if (next && (!end || next < end))
			end = next;
	}
	if (!end)
		end = p + strlen(p);
	out = strndup(p, end - p);
	if (out)
		roff_plain(out);
	return out;
}

/* tok appears in s on its own, not inside a longer option or word */
static bool has_token(const char *s, const char *tok)
{
	size_t len = strlen(tok);
	const char *p;

	for (p = strstr(s, tok); p; p = strstr(p + 1, tok)) {
		if ((p == s || !opt_char(p[-1])) && !opt_char(p[len]))
			return true;
	}
	return false;
}

/*
 * Calls match() on the tag line of each ".TP" paragraph of a plain block
 * (macro included: ".BI watch add  path"); true when one matches. Only a
 * tag counts: a word that merely appears in some paragraph documents
 * nothing.
 */
static bool any_tag(const char *block, bool (*match)(const char *tag,
						     const void *arg),
		    const void *arg)
{
	const char *p, *nl;
	char tag[256];
	bool tag_next = false;

	for (p = block; *p; p = *nl ? nl + 1 : nl) {
		nl = strchrnul(p, '\n');
		if (tag_next) {
			snprintf(tag, sizeof(tag), "%.*s", (int)(nl - p), p);
			if (match(tag, arg))
				return true;
		}
		tag_next = nl - p == 3 && !strncmp(p, ".TP", 3);
	}
	return false;
}

static bool tag_has_option(const char *tag, const void *arg)
{
	char want[2 * WORD_LEN], *space;

	/* "-c --config": both in the one tag */
	snprintf(want, sizeof(want), "%s", (const char *)arg);
	space = strchr(want, ' ');
	if (space) {
		*space = '\0';
		return has_token(tag, want) && has_token(tag, space + 1);
	}
	return has_token(tag, want);
}

/* "status", or "watch add": the tag's first words, after the macro */
static bool tag_names(const char *tag, const void *arg)
{
	const char *want = arg;
	char words[256];
	const char *p = tag;

	if (*p == '.')
		p += strcspn(p, " ");
	p += strspn(p, " ");
	/* squeeze the blanks that quotes left */
	snprintf(words, sizeof(words), "%s", p);
	for (char *q = words; *q; q++)
		while (q[0] == ' ' && q[1] == ' ')
			memmove(q, q + 1, strlen(q));
	return !strncmp(words, want, strlen(want)) &&
	       !opt_char(words[strlen(want)]);
}

/* ------------------------------------------------------------------ */
/* (a) the pages render without a warning */

/* What a command wrote on stderr, stdout discarded; its exit status. */
static int run_stderr(const char *cmd, char *err, size_t len)
{
	char shell[1024];
	size_t n = 0;
	FILE *f;
	int st;

	snprintf(shell, sizeof(shell), "%s 2>&1 >/dev/null", cmd);
	f = popen(shell, "r");
	if (!f)
		return -1;
	n = fread(err, 1, len - 1, f);
	err[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[512];
	const char *p, *end;

	for (p = path ? path : "/usr/bin:/bin"; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p, prog);
		if (!access(buf, X_OK))
			return true;
	}
	return false;
}

FIXTURE(page) {
	char *roff;
};

FIXTURE_VARIANT(page) {
	const char *file;
	const char *sections[12];	/* each must be there */
};

FIXTURE_VARIANT_ADD(page, exfilmond_8) {
	.file = MAN_DIR "/exfilmond.8",
	.sections = { "NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
		      "SIGNALS", "SYSTEMD", "FILES", "EXIT STATUS",
		      "SEE ALSO" },
};

FIXTURE_VARIANT_ADD(page, exfilctl_8) {
	.file = MAN_DIR "/exfilctl.8",
	.sections = { "NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS",
		      "OPTIONS", "ACCESS", "EXIT STATUS", "EXAMPLES",
		      "SEE ALSO" },
};

FIXTURE_VARIANT_ADD(page, exfilmon_conf_5) {
	.file = MAN_DIR "/exfilmon.conf.5",
	.sections = { "NAME", "SYNOPSIS", "DESCRIPTION", "FILE FORMAT",
		      "SECTIONS AND KEYS", "ERRORS", "EXAMPLE", "SEE ALSO" },
};

FIXTURE_SETUP(page)
{
	NEED_SOURCE_TREE();
	self->roff = slurp(variant->file);
	ASSERT_NE(NULL, self->roff) TH_LOG("%s: %s", variant->file,
					   strerror(errno));
}

FIXTURE_TEARDOWN(page)
{
	free(self->roff);
}

TEST_F(page, has_its_sections)
{
	char head[64], quoted[64];
	int i;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (i = 0; variant->sections[i]; i++) {
		/* a heading of several words may be quoted or not */
		snprintf(head, sizeof(head), "\n.SH %s\n",
			 variant->sections[i]);
		snprintf(quoted, sizeof(quoted), "\n.SH \"%s\"\n",
			 variant->sections[i]);
		EXPECT_TRUE(strstr(self->roff, head) ||
			    strstr(self->roff, quoted))
			TH_LOG("%s: no section %s", variant->file,
			       variant->sections[i]);
	}
}

TEST_F(page, man_renders_it_without_warnings)
{
	char cmd[512], err[4096];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	if (!in_path("man"))
		SKIP(return, "man (man-db) is not installed");
	/* what lintian runs on every page of a package */
	snprintf(cmd, sizeof(cmd),
		 "LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 "
		 "man --warnings -E UTF-8 -l -Tutf8 -Z '%s'", variant->file);
	EXPECT_EQ(0, run_stderr(cmd, err, sizeof(err)));
	EXPECT_STREQ("", err);
}

TEST_F(page, groff_finds_nothing_to_warn_about)
{
	char cmd[512], err[4096];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	if (!in_path("groff"))
		SKIP(return, "groff is not installed");
	snprintf(cmd, sizeof(cmd), "groff -ww -z -man '%s'", variant->file);
	EXPECT_EQ(0, run_stderr(cmd, err, sizeof(err)));
	EXPECT_STREQ("", err);
}

/* ------------------------------------------------------------------ */
/* (b) every option and command of --help is in its page */

FIXTURE(manual) {
	struct help help;
	char *roff;
	char *options;		/* .SH OPTIONS, plain */
	char *synopsis;
};

FIXTURE_VARIANT(manual) {
	const char *prog;
	const char *file;
};

FIXTURE_VARIANT_ADD(manual, exfilmond) {
	.prog = "exfilmond",
	.file = MAN_DIR "/exfilmond.8",
};

FIXTURE_VARIANT_ADD(manual, exfilctl) {
	.prog = "exfilctl",
	.file = MAN_DIR "/exfilctl.8",
};

FIXTURE_SETUP(manual)
{
	NEED_SOURCE_TREE();
	ASSERT_EQ(0, get_help(&self->help, variant->prog))
		TH_LOG("%s/%s --help failed", build_dir(), variant->prog);
	/* a parser that finds nothing would pass everything */
	ASSERT_LE(4, self->help.longs.n);
	ASSERT_LE(3, self->help.shorts.n);
	self->roff = slurp(variant->file);
	ASSERT_NE(NULL, self->roff);
	self->options = roff_block(self->roff, ".SH OPTIONS");
	self->synopsis = roff_block(self->roff, ".SH SYNOPSIS");
	ASSERT_NE(NULL, self->options);
	ASSERT_NE(NULL, self->synopsis);
}

FIXTURE_TEARDOWN(manual)
{
	free(self->roff);
	free(self->options);
	free(self->synopsis);
}

TEST_F(manual, describes_every_option)
{
	const struct words *w = &self->help.longs;
	int i;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (i = 0; i < w->n; i++) {
		EXPECT_TRUE(any_tag(self->options, tag_has_option, w->w[i]))
			TH_LOG("%s: %s of --help has no entry under OPTIONS",
			       variant->file, w->w[i]);
	}
}

TEST_F(manual, pairs_each_short_option_with_its_long_one)
{
	const struct words *w = &self->help.shorts;
	int i;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (i = 0; i < w->n; i++) {
		EXPECT_TRUE(any_tag(self->options, tag_has_option, w->w[i]))
			TH_LOG("%s: no OPTIONS entry for \"%s\" together",
			       variant->file, w->w[i]);
	}
}

/* The SYNOPSIS entries, split at ".br", as words without [ ] |. */
static int synopsis_entries(const char *synopsis, struct words *out, int max)
{
	const char *p = synopsis, *end;
	char line[512], *tok, *save;
	int n = 0;

	while (*p && n < max) {
		end = strstr(p, ".br\n");
		if (!end)
			end = p + strlen(p);
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(line, sizeof(line), "%.*s", (int)(end - p), p);
		for (tok = strtok_r(line, " \n[]|,", &save); tok;
		     tok = strtok_r(NULL, " \n[]|,", &save))
			if (tok[0] != '.')
				words_add(&out[n], tok);
		n++;
		p = *end ? end + 4 : end;
	}
	return n;
}

TEST_F(manual, synopsis_shows_every_form_of_usage)
{
	struct words entries[16];
	const struct usage_line *u;
	int n, i, j, k;
	bool found;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	n = synopsis_entries(self->synopsis, entries, 16);
	if (!strcmp(variant->prog, "exfilmond")) {
		/* one form of usage: every option in one of the entries */
		for (i = 0; i < self->help.longs.n; i++) {
			for (found = false, j = 0; j < n && !found; j++)
				found = words_has(&entries[j],
						  self->help.longs.w[i]);
			EXPECT_TRUE(found) TH_LOG("SYNOPSIS lacks %s",
						  self->help.longs.w[i]);
		}
		return;
	}

	ASSERT_LE(5, self->help.nr_usage);
	for (i = 0; i < self->help.nr_usage; i++) {
		u = &self->help.usage[i];
		if (!u->cmd[0])
			continue;
		for (found = false, j = 0; j < n && !found; j++) {
			found = words_has(&entries[j], u->cmd);
			for (k = 0; found && k < u->ops.n; k++)
				found = words_has(&entries[j], u->ops.w[k]);
			for (k = 0; found && k < u->opts.n; k++)
				found = words_has(&entries[j], u->opts.w[k]);
			for (k = 0; found && k < self->help.global.n; k++)
				if (strcmp(self->help.global.w[k], "--help") &&
				    strcmp(self->help.global.w[k], "--version"))
					found = words_has(&entries[j],
							  self->help.global.w[k]);
		}
		EXPECT_TRUE(found)
			TH_LOG("SYNOPSIS has no line for exfilctl %s %s "
			       "with %s", u->cmd, words_str(&u->ops),
			       words_str(&u->opts));
	}
}

TEST(exfilctl_page_describes_every_command)
{
	struct help *h = malloc(sizeof(*h));
	const struct usage_line *u;
	char *roff, *commands;
	char name[2 * WORD_LEN + 1];
	int i, k;

	NEED_SOURCE_TREE();
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, get_help(h, "exfilctl"));
	ASSERT_LE(5, h->commands.n);
	roff = slurp(MAN_DIR "/exfilctl.8");
	ASSERT_NE(NULL, roff);
	commands = roff_block(roff, ".SH COMMANDS");
	ASSERT_NE(NULL, commands);
	for (i = 0; i < h->commands.n; i++) {
		EXPECT_TRUE(any_tag(commands, tag_names, h->commands.w[i]))
			TH_LOG("COMMANDS has no entry for %s",
			       h->commands.w[i]);
	}
	/* "watch add", "watch rm", "watch list": an entry each */
	for (i = 0; i < h->nr_usage; i++) {
		u = &h->usage[i];
		for (k = 0; k < u->ops.n; k++) {
			snprintf(name, sizeof(name), "%s %s", u->cmd,
				 u->ops.w[k]);
			EXPECT_TRUE(any_tag(commands, tag_names, name))
				TH_LOG("COMMANDS has no entry for %s", name);
		}
	}
	free(commands);
	free(roff);
	free(h);
}

/* needle is in one of the daemon's sources */
static bool in_sources(const char *needle)
{
	bool found = false;
	glob_t g;
	size_t i;
	char *src;

	if (glob("userspace/*.[ch]", 0, NULL, &g))
		return false;
	for (i = 0; i < g.gl_pathc && !found; i++) {
		src = slurp(g.gl_pathv[i]);
		found = src && strstr(src, needle);
		free(src);
	}
	globfree(&g);
	return found;
}

/*
 * Administrators and log shippers select alerts by the MESSAGE_ID and the
 * fields exfilmond(8) gives: those must be the ones the daemon sends.
 */
TEST(exfilmond_page_names_the_journal_fields_the_daemon_sends)
{
	char *roff, *journal, *p, id[33], field[WORD_LEN + 1];
	int fields = 0;

	NEED_SOURCE_TREE();
	roff = slurp(MAN_DIR "/exfilmond.8");
	ASSERT_NE(NULL, roff);
	journal = roff_block(roff, ".SH JOURNAL");
	ASSERT_NE(NULL, journal);

	p = strstr(journal, "MESSAGE_ID=");
	ASSERT_NE(NULL, p);
	ASSERT_EQ(1, sscanf(p, "MESSAGE_ID=%32[0-9a-f]", id));
	ASSERT_EQ(32, strlen(id));
	EXPECT_TRUE(in_sources(id))
		TH_LOG("MESSAGE_ID %s is not the daemon's", id);
	/* the examples use the same one */
	for (p = strstr(roff, "MESSAGE_ID="); p;
	     p = strstr(p + 1, "MESSAGE_ID=")) {
		if (isxdigit((unsigned char)p[11]))
			EXPECT_EQ(0, strncmp(p + 11, id, 32));
	}

	for (p = strstr(journal, "EXFILMON_"); p;
	     p = strstr(p + 1, "EXFILMON_")) {
		if (sscanf(p, "%63[A-Z_]", field) != 1)
			continue;
		fields++;
		strcat(field, "=");
		EXPECT_TRUE(in_sources(field))
			TH_LOG("the daemon sends no journal field %s", field);
	}
	EXPECT_LE(5, fields);
	free(journal);
	free(roff);
}

/* ------------------------------------------------------------------ */
/* (c) every config key the daemon accepts is in exfilmon.conf(5) */

struct conf_key {
	char section[WORD_LEN];
	char name[WORD_LEN];
};

/*
 * The daemon's own table: KEY("section", "name", ...) lines of keys[] in
 * userspace/config.c. Returns how many, or -1 when the table cannot be
 * read the way this parser expects (then the parser must follow).
 */
static int config_keys(struct conf_key *keys, int max)
{
	char *src = slurp(CONFIG_SRC), *p, *end;
	int n = 0, entries = 0;

	if (!src)
		return -1;
	p = strstr(src, "static const struct key_spec keys[] = {");
	end = p ? strstr(p, "\n};") : NULL;
	if (!p || !end) {
		free(src);
		return -1;
	}
	*end = '\0';
	for (p = strstr(p, "KEY("); p; p = strstr(p + 1, "KEY(")) {
		entries++;
		if (n < max && sscanf(p, "KEY(\"%63[^\"]\", \"%63[^\"]\"",
				      keys[n].section, keys[n].name) == 2)
			n++;
	}
	free(src);
	/* an entry written some other way would be missed silently */
	return entries == n ? n : -1;
}

TEST(conf_page_describes_every_config_key)
{
	struct conf_key keys[64];
	char *roff, *block, head[128], text[256], err[CONFIG_ERR_LEN];
	struct config cfg;
	int n, i;

	NEED_SOURCE_TREE();
	n = config_keys(keys, 64);
	ASSERT_LE(10, n) TH_LOG("cannot read the keys[] table of %s",
				CONFIG_SRC);
	roff = slurp(MAN_DIR "/exfilmon.conf.5");
	ASSERT_NE(NULL, roff);

	for (i = 0; i < n; i++) {
		/* the table was read right: the daemon knows the key */
		snprintf(text, sizeof(text), "[%s]\n%s = \\bad\n",
			 keys[i].section, keys[i].name);
		if (config_load_string(&cfg, "t.conf", text, err,
				       sizeof(err)) == 0)
			config_free(&cfg);
		EXPECT_EQ(NULL, strstr(err, "unknown"))
			TH_LOG("[%s] %s: %s", keys[i].section, keys[i].name,
			       err);

		/* an entry of its own under ".SS [section]" */
		snprintf(head, sizeof(head), ".SS [%s]", keys[i].section);
		block = roff_block(roff, head);
		EXPECT_NE(NULL, block)
			TH_LOG("exfilmon.conf.5 has no section [%s]",
			       keys[i].section);
		if (!block)
			continue;
		EXPECT_TRUE(any_tag(block, tag_names, keys[i].name))
			TH_LOG("exfilmon.conf.5: [%s] has no entry for %s",
			       keys[i].section, keys[i].name);
		free(block);
	}
	free(roff);
}

/* ------------------------------------------------------------------ */
/* (d) the bash completion offers what --help lists */

FIXTURE(completion) {
	struct help help;
	char dir[64];
	char prog[600];		/* exfilctl, as the completion runs it */
};

FIXTURE_SETUP(completion)
{
	char path[160];

	NEED_SOURCE_TREE();
	if (!in_path("bash"))
		SKIP(return, "bash is not installed");
	if (access(BASH_COMPLETION, R_OK))
		SKIP(return, "bash-completion is not installed (%s)",
		     BASH_COMPLETION);
	ASSERT_EQ(0, get_help(&self->help, "exfilctl"));
	ASSERT_LE(5, self->help.commands.n);
	snprintf(self->prog, sizeof(self->prog), "%s/exfilctl", build_dir());

	strcpy(self->dir, "/tmp/exfilmon-docs-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(path, sizeof(path), "%s/customers.csv", self->dir);
	ASSERT_EQ(0, write_file(path, "name,account,phone\n"));
	snprintf(path, sizeof(path), "%s/crm.sock", self->dir);
	ASSERT_EQ(0, write_file(path, ""));
}

FIXTURE_TEARDOWN(completion)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (self->dir[0] && system(cmd))
		TH_LOG("cleanup failed");
}

/*
 * Complete line (the cursor at its end) the way bash does: COMP_WORDS
 * split at blanks, an empty last word after a trailing blank. prog is
 * the command word the user typed, so the completion asks that program.
 * Fills got with COMPREPLY; 0, or -1 (then err says why).
 */
static int run_completion(const char *dir, const char *prog, const char *line,
		    struct words *got, char *err, size_t errlen)
{
	char script[4096], path[160], out[8192], cmd[256];
	size_t n;
	FILE *f;
	int st;

	snprintf(path, sizeof(path), "%s/complete.sh", dir);
	snprintf(script, sizeof(script),
		 ". %s\n"
		 ". %s\n"
		 "line='%s'\n"
		 "line='%s'${line#exfilctl}\n"
		 "COMP_LINE=$line COMP_POINT=${#line}\n"
		 "read -ra COMP_WORDS <<<\"$line\"\n"
		 "[[ $line == *' ' ]] && COMP_WORDS+=('')\n"
		 /* bash breaks "--socket=PATH" at the '=' too */
		 "w=()\n"
		 "for x in \"${COMP_WORDS[@]}\"; do\n"
		 "\tif [[ $x == ?*=?* ]]; then\n"
		 "\t\tw+=(\"${x%%%%=*}\" = \"${x#*=}\")\n"
		 "\telse\n"
		 "\t\tw+=(\"$x\")\n"
		 "\tfi\n"
		 "done\n"
		 "COMP_WORDS=(\"${w[@]}\")\n"
		 "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
		 "COMPREPLY=()\n"
		 "_exfilctl '%s' \"${COMP_WORDS[COMP_CWORD]}\" "
		 "\"${COMP_WORDS[COMP_CWORD - 1]}\"\n"
		 "printf '%%s\\n' \"${COMPREPLY[@]}\"\n",
		 BASH_COMPLETION, COMPLETION, line, prog, prog);
	if (write_file(path, script))
		return -1;
	snprintf(cmd, sizeof(cmd), "bash %s 2>%s/complete.err", path, dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	st = pclose(f);
	snprintf(path, sizeof(path), "%s/complete.err", dir);
	f = fopen(path, "re");
	n = f ? fread(err, 1, errlen - 1, f) : 0;
	err[n] = '\0';
	if (f)
		fclose(f);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	words_from_lines(got, out);
	return 0;
}

/* got is exactly want */
#define EXPECT_WORDS(want, got, line) do {				\
	int _i;								\
	for (_i = 0; _i < (want)->n; _i++) {				\
		EXPECT_TRUE(words_has(got, (want)->w[_i]))		\
			TH_LOG("\"%s\": %s not offered (got: %s)", line,\
			       (want)->w[_i], words_str(got));		\
	}								\
	for (_i = 0; _i < (got)->n; _i++) {				\
		EXPECT_TRUE(words_has(want, (got)->w[_i]))		\
			TH_LOG("\"%s\": %s offered, not expected", line,\
			       (got)->w[_i]);				\
	}								\
} while (0)

#define COMPLETE(line, got) do {					\
	char _err[1024];						\
	ASSERT_EQ(0, run_completion(self->dir, self->prog, line, got,	\
				    _err, sizeof(_err)))				\
		TH_LOG("\"%s\": %s", line, _err);			\
	EXPECT_STREQ("", _err) TH_LOG("\"%s\" printed on stderr", line);\
} while (0)

TEST_F(completion, offers_every_command)
{
	struct words got;
	int i;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	COMPLETE("exfilctl ", &got);
	for (i = 0; i < self->help.commands.n; i++) {
		EXPECT_TRUE(words_has(&got, self->help.commands.w[i]))
			TH_LOG("command %s not offered (got: %s)",
			       self->help.commands.w[i], words_str(&got));
	}
}

TEST_F(completion, completes_a_command_from_its_start)
{
	struct words got, want = { 0 };
	int i;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (i = 0; i < self->help.commands.n; i++)
		if (self->help.commands.w[i][0] == 's')
			words_add(&want, self->help.commands.w[i]);
	ASSERT_LE(2, want.n);	/* status, show */
	COMPLETE("exfilctl s", &got);
	EXPECT_WORDS(&want, &got, "exfilctl s");
}

TEST_F(completion, offers_the_global_options)
{
	struct words got;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	ASSERT_LE(3, self->help.global.n);
	COMPLETE("exfilctl -", &got);
	EXPECT_WORDS(&self->help.global, &got, "exfilctl -");
}

TEST_F(completion, offers_each_commands_own_options)
{
	const struct usage_line *u;
	struct words got, want;
	char line[256];
	int i, k, nops;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (i = 0; i < self->help.nr_usage; i++) {
		u = &self->help.usage[i];
		if (!u->cmd[0])
			continue;
		/* "watch add|rm PATH": each of add and rm */
		nops = u->ops.n ? u->ops.n : 1;
		for (k = 0; k < nops; k++) {
			want = u->opts;
			/* every command takes --help, as --help says once */
			words_add(&want, "--help");
			snprintf(line, sizeof(line), "exfilctl %s%s%s -",
				 u->cmd, u->ops.n ? " " : "",
				 u->ops.n ? u->ops.w[k] : "");
			COMPLETE(line, &got);
			EXPECT_WORDS(&want, &got, line);
		}
	}
}

TEST_F(completion, does_not_offer_an_option_twice)
{
	struct words got;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	COMPLETE("exfilctl alerts --json -", &got);
	EXPECT_FALSE(words_has(&got, "--json"));
	EXPECT_TRUE(words_has(&got, "--since"));
}

TEST_F(completion, offers_the_watch_operations)
{
	struct words got, want = { 0 };
	int i, k;

	if (_metadata->skip)
		return;	/* skipped in the setup */

	for (i = 0; i < self->help.nr_usage; i++)
		if (!strcmp(self->help.usage[i].cmd, "watch"))
			for (k = 0; k < self->help.usage[i].ops.n; k++)
				words_add(&want, self->help.usage[i].ops.w[k]);
	ASSERT_LE(3, want.n);	/* add rm list */
	COMPLETE("exfilctl watch ", &got);
	EXPECT_WORDS(&want, &got, "exfilctl watch ");
}

TEST_F(completion, completes_file_names_where_a_path_goes)
{
	struct words got;
	char line[256], want[160];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(want, sizeof(want), "%s/customers.csv", self->dir);
	snprintf(line, sizeof(line), "exfilctl watch add %s/cu", self->dir);
	COMPLETE(line, &got);
	EXPECT_EQ(1, got.n);
	EXPECT_TRUE(words_has(&got, want)) TH_LOG("got: %s", words_str(&got));

	snprintf(want, sizeof(want), "%s/crm.sock", self->dir);
	snprintf(line, sizeof(line), "exfilctl --socket %s/crm", self->dir);
	COMPLETE(line, &got);
	EXPECT_TRUE(words_has(&got, want)) TH_LOG("got: %s", words_str(&got));
}

TEST_F(completion, quiet_when_the_daemon_cannot_be_asked)
{
	struct words got;
	char line[256], want[160];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	/* no daemon: watch rm falls back to file names, show to nothing */
	snprintf(want, sizeof(want), "%s/customers.csv", self->dir);
	snprintf(line, sizeof(line),
		 "exfilctl --socket %s/none.sock watch rm %s/cu", self->dir,
		 self->dir);
	COMPLETE(line, &got);
	EXPECT_TRUE(words_has(&got, want)) TH_LOG("got: %s", words_str(&got));
	snprintf(line, sizeof(line), "exfilctl --socket %s/none.sock show ",
		 self->dir);
	COMPLETE(line, &got);
	EXPECT_EQ(0, got.n) TH_LOG("got: %s", words_str(&got));
}

/*
 * A stand-in for exfilctl that prints what the real one prints, through
 * the real formatters (ctl_print_watched, ctl_print_alerts), but only to
 * the socket named on the command line.
 */
static int write_stub(const char *dir, const char *sock, char *prog,
		      size_t len)
{
	static const char *const watched[][3] = {
		{ "/srv/crm/customers.db", "file", "1" },
		{ "/srv/crm/ex ports", "dir", "12" },
		{ "/srv/crm/\x1b[2Jx", "file", "1" },	/* printed escaped */
		{ "/home/alice/notes", "file", "1" },
	};
	static const int ids[] = { 12, 9, 130 };
	struct json_object *arr, *o;
	char path[160], text[1024];
	FILE *f;
	size_t i;
	int ret;

	ctl_set_utf8(false);
	arr = json_object_new_array();
	for (i = 0; i < ARRAY_SIZE(watched); i++) {
		o = json_object_new_object();
		json_object_object_add(o, "path",
				       json_object_new_string(watched[i][0]));
		json_object_object_add(o, "kind",
				       json_object_new_string(watched[i][1]));
		json_object_object_add(o, "inodes",
				       json_object_new_int(atoi(watched[i][2])));
		json_object_array_add(arr, o);
	}
	snprintf(path, sizeof(path), "%s/watched.txt", dir);
	f = fopen(path, "we");
	ret = f ? ctl_print_watched(f, arr) : -1;
	if (f && fclose(f))
		ret = -1;
	json_object_put(arr);
	if (ret)
		return -1;

	arr = json_object_new_array();
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int(ids[i]));
		json_object_object_add(o, "severity",
				       json_object_new_string("high"));
		json_object_object_add(o, "host",
				       json_object_new_string("203.0.113.7"));
		json_object_array_add(arr, o);
	}
	snprintf(path, sizeof(path), "%s/alerts.txt", dir);
	f = fopen(path, "we");
	ret = f ? ctl_print_alerts(f, arr) : -1;
	if (f && fclose(f))
		ret = -1;
	json_object_put(arr);
	if (ret)
		return -1;

	snprintf(prog, len, "%s/exfilctl-stub", dir);
	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "[ \"$1 $2\" = '--socket %s' ] || exit 1\n"
		 "case \"$3 $4\" in\n"
		 "'watch list') exec cat %s/watched.txt ;;\n"
		 "'alerts ') exec cat %s/alerts.txt ;;\n"
		 "esac\n"
		 "exit 2\n", sock, dir, dir);
	if (write_file(prog, text) || chmod(prog, 0755))
		return -1;
	return 0;
}

TEST_F(completion, watch_rm_offers_the_watched_paths)
{
	struct words got, want = { 0 };
	char line[256], sock[160];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(sock, sizeof(sock), "%s/exfilmon.sock", self->dir);
	ASSERT_EQ(0, write_stub(self->dir, sock, self->prog,
				sizeof(self->prog)));
	/* the escaped name cannot be typed back: not offered */
	words_add(&want, "/srv/crm/customers.db");
	words_add(&want, "/srv/crm/ex ports");
	snprintf(line, sizeof(line),
		 "exfilctl --socket %s watch rm /srv/crm/", sock);
	COMPLETE(line, &got);
	EXPECT_WORDS(&want, &got, line);

	/* the socket may also be given as --socket=PATH */
	snprintf(line, sizeof(line),
		 "exfilctl --socket=%s watch rm /home/", sock);
	COMPLETE(line, &got);
	EXPECT_EQ(1, got.n);
	EXPECT_TRUE(words_has(&got, "/home/alice/notes"))
		TH_LOG("got: %s", words_str(&got));
}

TEST_F(completion, show_offers_the_alert_ids)
{
	struct words got, want = { 0 };
	char line[256], sock[160];

	if (_metadata->skip)
		return;	/* skipped in the setup */

	snprintf(sock, sizeof(sock), "%s/exfilmon.sock", self->dir);
	ASSERT_EQ(0, write_stub(self->dir, sock, self->prog,
				sizeof(self->prog)));
	words_add(&want, "12");
	words_add(&want, "130");
	snprintf(line, sizeof(line), "exfilctl -s %s show 1", sock);
	COMPLETE(line, &got);
	EXPECT_WORDS(&want, &got, line);

	/* one ID only */
	snprintf(line, sizeof(line), "exfilctl -s %s show 12 1", sock);
	COMPLETE(line, &got);
	EXPECT_EQ(0, got.n) TH_LOG("got: %s", words_str(&got));
}

TEST_HARNESS_MAIN
