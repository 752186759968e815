"""Canned replies (자주 쓰는 답변): personal, team and workspace answers an agent inserts with `/`."""
