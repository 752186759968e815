"""Video and voice calls in the browser (WebRTC), signalled over Sodam's own sockets."""
