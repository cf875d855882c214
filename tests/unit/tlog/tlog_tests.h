/* tlog_tests.h - the signed-note half of the tlog unit tests
 * (test_tlog_note.c), run by test_tlog.c's main(). */
#ifndef YAGURA_TESTS_TLOG_TESTS_H
#define YAGURA_TESTS_TLOG_TESTS_H

/* Runs the note, key and checkpoint tests; the number that failed. */
int tlog_note_tests(void);

#endif
