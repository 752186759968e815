"""The phone line: a Twilio-compatible voice webhook with an IVR per phone inbox, voicemail,
calls on the contact's timeline, incident announcements and callbacks (전화 예약)."""
