console.log("demo: coming with the wire");
