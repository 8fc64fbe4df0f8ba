"""FacePop's WebUI glue: the only part of FacePop that imports the WebUI's ``modules``.

Read one face top to bottom in this order:

* ``scripts/facepop.py`` — the always-on Script: thin hooks that call into this package;
* ``script_args`` — the Script's arguments (UI values, API dict or list) -> ``FaceSettings``;
* ``flow`` — "before" mode (faces first, then one main pass that protects them) and
  "after" mode (refine the faces of the generated image);
* ``main_pass`` — the user's inpaint mask in, ``p.init_images``/``p.image_mask`` out, and
  every field of ``p`` put back afterwards;
* ``renderer`` + ``child`` — one face = one child ``StableDiffusionProcessingImg2Img``
  through ``process_images``, with a filtered copy of the always-on scripts;
* ``progress`` — ``shared.state`` around the child passes ("FacePop: face i/k");
* ``controlnet`` + ``rearm`` — the user's ControlNet units on the face pass, and the outer
  job's ControlNet/Hypertile re-armed afterwards;
* ``infotext``, ``ui``, ``preview``, ``outputs``, ``settings_section``, ``engine``.
"""
