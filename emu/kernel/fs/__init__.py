"""Files: fd tables, the VFS, host files, devices, pipes, sockets, poll and epoll.

What Linux keeps in fs/ and net/unix/.
"""
