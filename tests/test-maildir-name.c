/* test-maildir-name.c: tests for src/maildir/maildir-name.c
 *
 * Copyright 2026 The Ferry authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <sys/wait.h>
#include <unistd.h>

#include "maildir/maildir-flags.h"
#include "maildir/maildir-name.h"

#define NAMES_PER_THREAD 2000
#define THREADS          8

/* "<sec>.M<usec>P<pid>Q<counter>R<16 hex>.<host>" */
static void
assert_well_formed (const char *name)
{
  g_autoptr (GRegex) regex
      = g_regex_new ("^[0-9]+\\.M[0-9]{6}P[0-9]+Q[0-9]+R[0-9a-f]{16}\\.[^/:,!]+$", 0, 0, NULL);
  g_autofree char *unique = NULL;

  if (!g_regex_match (regex, name, 0, NULL))
    g_error ("“%s” is not a well-formed unique name", name);
  g_assert_false (ferry_maildir_flags_parse_filename (name, &unique, NULL, NULL));
  g_assert_cmpstr (unique, ==, name);
}

static void
test_format (void)
{
  g_autofree char *name = ferry_maildir_name_new_unique ();
  g_autofree char *pid = g_strdup_printf ("P%ldQ", (long) getpid ());
  gint64 seconds = g_ascii_strtoll (name, NULL, 10);

  assert_well_formed (name);
  g_assert_nonnull (strstr (name, pid));
  g_assert_cmpint (ABS (seconds - g_get_real_time () / G_USEC_PER_SEC), <=, 5);
}

static void
test_escape_hostname (void)
{
  g_autofree char *plain = ferry_maildir_name_escape_hostname ("laptop.example.org");
  g_autofree char *hostile = ferry_maildir_name_escape_hostname ("a/b:c,d!e\nf");
  g_autofree char *empty = ferry_maildir_name_escape_hostname ("");

  g_assert_cmpstr (plain, ==, "laptop.example.org");
  g_assert_cmpstr (hostile, ==, "a\\057b\\072c\\054d\\041e\\012f");
  g_assert_cmpstr (empty, ==, "localhost");
}

static gpointer
make_names (gpointer data)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < NAMES_PER_THREAD; i++)
    g_ptr_array_add (names, ferry_maildir_name_new_unique ());
  return names;
}

static void
add_all (GHashTable *seen, GPtrArray *names)
{
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);

      assert_well_formed (name);
      if (!g_hash_table_add (seen, g_strdup (name)))
        g_error ("“%s” was made twice", name);
    }
}

/* Threads making names at once, and a forked child that inherits the
 * counter and the random state, never make the same name. */
static void
test_unique_across_threads_and_processes (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GThread *threads[THREADS];
  int pipe_fds[2];
  pid_t child;
  int status;
  g_autoptr (GString) child_output = g_string_new (NULL);
  g_auto (GStrv) child_names = NULL;
  char buffer[4096];
  ssize_t n;

  g_assert_cmpint (pipe (pipe_fds), ==, 0);
  child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0)
    {
      close (pipe_fds[0]);
      for (guint i = 0; i < NAMES_PER_THREAD; i++)
        {
          g_autofree char *name = ferry_maildir_name_new_unique ();
          g_autofree char *line = g_strconcat (name, "\n", NULL);
          if (write (pipe_fds[1], line, strlen (line)) < 0)
            _exit (1);
        }
      _exit (0);
    }
  close (pipe_fds[1]);

  for (guint i = 0; i < THREADS; i++)
    threads[i] = g_thread_new ("names", make_names, NULL);
  for (guint i = 0; i < THREADS; i++)
    {
      g_autoptr (GPtrArray) names = g_thread_join (threads[i]);
      add_all (seen, names);
    }

  while ((n = read (pipe_fds[0], buffer, sizeof buffer)) > 0)
    g_string_append_len (child_output, buffer, n);
  close (pipe_fds[0]);
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);

  child_names = g_strsplit (child_output->str, "\n", -1);
  for (guint i = 0; child_names[i] != NULL && *child_names[i] != '\0'; i++)
    {
      assert_well_formed (child_names[i]);
      if (!g_hash_table_add (seen, g_strdup (child_names[i])))
        g_error ("“%s” was made by the parent and the child", child_names[i]);
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, (THREADS + 1) * NAMES_PER_THREAD);
}

static void
test_parse_size (void)
{
  guint64 size = 0;

  g_assert_true (ferry_maildir_name_parse_size ("1.M2P3.host,S=1234", &size));
  g_assert_cmpuint (size, ==, 1234);
  g_assert_true (ferry_maildir_name_parse_size ("1.M2P3.host,S=99,W=101:2,S", &size));
  g_assert_cmpuint (size, ==, 99);
  g_assert_true (ferry_maildir_name_parse_size ("1.M2P3.host,S=7:2,", &size));
  g_assert_cmpuint (size, ==, 7);
  g_assert_true (ferry_maildir_name_parse_size ("1.M2P3.host,S=0!2,S", &size));
  g_assert_cmpuint (size, ==, 0);
  /* a later field when the first is not a size */
  g_assert_true (ferry_maildir_name_parse_size ("h,S=x,S=5", &size));
  g_assert_cmpuint (size, ==, 5);

  size = 42;
  g_assert_false (ferry_maildir_name_parse_size ("1.M2P3.host", &size));
  g_assert_false (ferry_maildir_name_parse_size ("1.M2P3.host,S=", &size));
  g_assert_false (ferry_maildir_name_parse_size ("1.M2P3.host,S=12x", &size));
  g_assert_false (ferry_maildir_name_parse_size ("1.M2P3.host,W=12", &size));
  g_assert_false (ferry_maildir_name_parse_size ("h,S=99999999999999999999999", &size));
  g_assert_cmpuint (size, ==, 42);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/maildir-name/format", test_format);
  g_test_add_func ("/maildir-name/escape-hostname", test_escape_hostname);
  g_test_add_func ("/maildir-name/unique-across-threads-and-processes",
                   test_unique_across_threads_and_processes);
  g_test_add_func ("/maildir-name/parse-size", test_parse_size);
  return g_test_run ();
}
